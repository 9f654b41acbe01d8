import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { InvalidDurationError, parseDuration } from "./duration.js";

test("parses Go-style durations into milliseconds", () => {
  const cases: Array<[string, number]> = [
    ["0", 0],
    ["0s", 0],
    ["500ms", 500],
    ["10s", 10_000],
    ["1.5s", 1500],
    ["0.1s", 100],
    [".5s", 500],
    ["1.s", 1000],
    ["1m30s", 90_000],
    ["2h", 7_200_000],
    ["5m", 300_000],
    ["168h", 604_800_000],
    ["1h1m1s1ms", 3_661_001],
    ["250us", 0.25],
    ["250µs", 0.25],
    ["250μs", 0.25],
    ["1500000ns", 1.5],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test("adds up any sequence of whole-unit components", () => {
  fc.assert(
    fc.property(fc.nat(1000), fc.nat(59), fc.nat(59), (h, m, s) => {
      assert.equal(parseDuration(`${h}h${m}m${s}s`), ((h * 60 + m) * 60 + s) * 1000);
    }),
    { numRuns: 50 },
  );
});

test("rejects malformed durations with the reason", () => {
  const cases: Array<[string, string]> = [
    ["", 'invalid duration "": empty'],
    ["30", 'invalid duration "30": missing unit (ns, us, ms, s, m, h)'],
    ["10x", 'invalid duration "10x": unknown unit "x"'],
    ["10 s", 'invalid duration "10 s": unknown unit " s"'],
    ["s", 'invalid duration "s": expected a number followed by a unit such as ms, s, m or h'],
    ["-1s", 'invalid duration "-1s": expected a number followed by a unit such as ms, s, m or h'],
    ["1s.", 'invalid duration "1s.": expected a number followed by a unit such as ms, s, m or h'],
    ["3000000h", 'invalid duration "3000000h": too large'],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseDuration(text),
      (error: unknown) => {
        assert.ok(error instanceof InvalidDurationError);
        assert.equal(error.message, message);
        assert.equal(error.text, text);
        return true;
      },
    );
  }
});
