import { test } from "node:test";
import assert from "node:assert/strict";
import { InvalidByteSizeError, parseByteSize } from "./byte-size.js";

test("parses plain bytes and binary or decimal units", () => {
  const cases: Array<[string, number]> = [
    ["0", 0],
    ["1048576", 1_048_576],
    ["512B", 512],
    ["512KiB", 524_288],
    ["8MiB", 8_388_608],
    ["1GiB", 1_073_741_824],
    ["1.5KiB", 1536],
    ["2KB", 2000],
    ["3MB", 3_000_000],
    ["1GB", 1_000_000_000],
    [" 32 MiB ", 33_554_432],
  ];
  for (const [text, bytes] of cases) assert.equal(parseByteSize(text), bytes, text);
});

test("rejects malformed sizes with the reason", () => {
  const cases: Array<[string, string]> = [
    ["", 'invalid size "": expected a number of bytes, optionally with a unit such as KiB, MiB or GiB'],
    ["-1", 'invalid size "-1": expected a number of bytes, optionally with a unit such as KiB, MiB or GiB'],
    ["MiB", 'invalid size "MiB": expected a number of bytes, optionally with a unit such as KiB, MiB or GiB'],
    ["8mb", 'invalid size "8mb": unknown unit "mb"; use B, KB, MB, GB, KiB, MiB, GiB'],
    ["1.5B", 'invalid size "1.5B": not a whole number of bytes'],
    ["99999999GiB", 'invalid size "99999999GiB": too large'],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseByteSize(text),
      (error: unknown) => {
        assert.ok(error instanceof InvalidByteSizeError);
        assert.equal(error.message, message);
        return true;
      },
    );
  }
});
