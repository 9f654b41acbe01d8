import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { trimGoSpace } from "./go-space.js";

// Go's unicode.IsSpace, as a character class: what the loop must agree with.
const goSpace =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

describe("trimGoSpace", () => {
  it("strips what Go's TrimSpace strips: U+0085 and the Unicode spaces, not U+FEFF", () => {
    assert.equal(trimGoSpace(" \u0085\u3000app\u2028\t"), "app");
    assert.equal(trimGoSpace("\ufeffapp\ufeff"), "\ufeffapp\ufeff");
    assert.equal(trimGoSpace("\u200b x \u180e"), "\u200b x \u180e");
    assert.equal(trimGoSpace(" \n "), "");
    assert.equal(trimGoSpace(""), "");
  });

  it("agrees with the character class on any text of spaces and others", () => {
    const char = fc.constantFrom(" ", "\t", "\u0085", "\u00a0", "\u2000", "\u200a", "\u200b", "\u3000", "\ufeff", "a", "é", "\u{1f600}");
    fc.assert(fc.property(fc.array(char, { maxLength: 20 }), (chars) => assert.equal(trimGoSpace(chars.join("")), chars.join("").replace(goSpace, ""))));
  });

  // The regex it replaced took ~7 minutes on this; the loop reads each character at most once.
  it("keeps a million spaces between two letters", { timeout: 5_000 }, () => {
    const text = `a${" ".repeat(1_000_000)}b`;
    assert.equal(trimGoSpace(`  ${text}  `), text);
  });
});
