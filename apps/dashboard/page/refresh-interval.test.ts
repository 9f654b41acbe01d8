import assert from "node:assert/strict";
import { test } from "node:test";
import { refreshIntervalMs } from "./refresh-interval.js";

test("the page polls every 5 s unless its address says otherwise, never more than once a second nor less than once an hour", () => {
  assert.equal(refreshIntervalMs(""), 5_000);
  assert.equal(refreshIntervalMs("?refresh="), 5_000);
  assert.equal(refreshIntervalMs("?refresh=soon"), 5_000);
  assert.equal(refreshIntervalMs("?refresh=2"), 2_000);
  assert.equal(refreshIntervalMs("?x=1&refresh=1.5"), 1_500);
  assert.equal(refreshIntervalMs("?refresh=0.1"), 1_000);
  assert.equal(refreshIntervalMs("?refresh=3000000"), 3_600_000);
  assert.equal(refreshIntervalMs("?refresh=Infinity"), 5_000);
});
