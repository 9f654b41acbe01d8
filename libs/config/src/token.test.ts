import { test } from "node:test";
import assert from "node:assert/strict";
import { describeToken } from "./token.js";

test("names tokens the way syntax errors mention them", () => {
  const pos = { line: 1, col: 1 };
  const base = { pos, end: pos, newlineBefore: false };
  assert.equal(describeToken({ ...base, kind: "identifier", name: "http" }), "identifier http");
  assert.equal(describeToken({ ...base, kind: "string", value: "s3cret" }), "string");
  assert.equal(describeToken({ ...base, kind: "number", value: 1, float: false }), "number");
  assert.equal(describeToken({ ...base, kind: "punctuation", symbol: "{" }), '"{"');
  assert.equal(describeToken({ ...base, kind: "eof" }), "end of file");
});
