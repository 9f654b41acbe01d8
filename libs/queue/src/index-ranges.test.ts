import assert from "node:assert/strict";
import { test } from "node:test";
import { formatRanges, inRanges, parseRanges } from "./index-ranges.js";

test("runs of consecutive numbers become ranges, in order, each number once", () => {
  assert.equal(formatRanges([7, 0, 1, 2, 3, 5, 8, 2]), "0-3,5,7-8");
  assert.equal(formatRanges([4]), "4");
  assert.equal(formatRanges([]), "");
});

test("ranges read back as the numbers they hold", () => {
  const ranges = parseRanges(formatRanges([9, 10, 12]));
  assert.deepEqual(ranges, [
    [9, 10],
    [12, 12],
  ]);
  assert.deepEqual(
    [8, 9, 10, 11, 12, 13].filter((n) => inRanges(ranges, n)),
    [9, 10, 12],
  );
  assert.deepEqual(parseRanges(""), []);
});

test("what is not a range is skipped, the rest kept", () => {
  assert.deepEqual(parseRanges("1,x,5-3,-2,2.5,4-5,99999999999999999999"), [
    [1, 1],
    [4, 5],
  ]);
});
