import assert from "node:assert/strict";
import { test } from "node:test";
import { MonotonicTotals } from "./monotonic-totals.js";

test("a total that reads lower is carried on from where it was; what it gains after adds to that", () => {
  const totals = new MonotonicTotals();
  assert.equal(totals.value("a", 100), 100);
  assert.equal(totals.value("a", 96), 100, "four increments lost");
  assert.equal(totals.value("a", 99), 103);
  assert.equal(totals.value("a", 50), 103);
  assert.equal(totals.value("a", 60), 113);
  assert.equal(totals.value("b", 7), 7, "each key on its own");
});
