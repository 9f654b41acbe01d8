import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isValidUtf8 } from "./utf8.js";

describe("isValidUtf8", () => {
  it("accepts well-formed UTF-8", () => {
    assert.equal(isValidUtf8(new TextEncoder().encode("plain é 😀")), true);
    assert.equal(isValidUtf8(new Uint8Array()), true);
  });

  it("rejects stray, truncated, overlong and surrogate sequences", () => {
    for (const bytes of [[0xff], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]) {
      assert.equal(isValidUtf8(Uint8Array.from(bytes)), false, String(bytes));
    }
  });
});
