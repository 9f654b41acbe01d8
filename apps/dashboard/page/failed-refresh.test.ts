import assert from "node:assert/strict";
import { test } from "node:test";
import type { RelayStatus } from "./admin-types.js";
import { failedListStale } from "./failed-refresh.js";

function status(time: number, failed: Record<string, number>): RelayStatus {
  return {
    time,
    targets: Object.entries(failed).map(([target, count]) => ({
      target,
      jobs: { waiting: 0, delayed: 0, active: 0, failed: count, prioritized: 0 },
      backlog: { bytes: 0, profiles: 0, maxBytes: null, maxProfiles: null },
      oldestWaitingAgeMs: null,
      circuitOpenUntil: null,
      deliveredProfiles: 0,
    })),
    process: { receivers: [] },
  };
}

test("the failed list is read first, then when a target's failed count changes", () => {
  const first = status(1_000, { a: 0, b: 2 });
  assert.equal(failedListStale(undefined, first, undefined), true);
  assert.equal(failedListStale(first, status(6_000, { a: 0, b: 2 }), 1_000), false);
  assert.equal(failedListStale(first, status(6_000, { a: 1, b: 2 }), 1_000), true);
  assert.equal(failedListStale(first, status(6_000, { a: 0, b: 1 }), 1_000), true);
  assert.equal(failedListStale(first, status(6_000, { a: 0, b: 2, c: 0 }), 1_000), true, "a target a reload added");
});

test("a failed list a minute old is read again whatever the counts", () => {
  const first = status(1_000, { a: 3 });
  assert.equal(failedListStale(first, status(60_999, { a: 3 }), 1_000), false);
  assert.equal(failedListStale(first, status(61_000, { a: 3 }), 1_000), true);
});
