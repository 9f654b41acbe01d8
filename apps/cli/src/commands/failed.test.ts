import assert from "node:assert/strict";
import { test } from "node:test";
import { formatFailed } from "./failed.js";

test("prints a table per target, and a line for a target without failures", () => {
  const at = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
  const text = formatFailed([
    {
      target: "strict",
      batches: 12,
      profiles: 130,
      oldestAt: at,
      newestAt: at + 60_000,
      reasons: [
        { reason: "network ECONNREFUSED", batches: 2, profiles: 120, oldestAt: at + 1_000, newestAt: at + 2_000, lastDetail: "" },
        { reason: "http 400", status: 400, batches: 10, profiles: 10, oldestAt: at, newestAt: at + 60_000, lastDetail: "bad" },
      ],
    },
    { target: "flaky", batches: 0, profiles: 0, reasons: [] },
    {
      target: "single",
      batches: 1,
      profiles: 1,
      oldestAt: at,
      newestAt: at,
      reasons: [{ reason: "timeout", batches: 1, profiles: 1, oldestAt: at, newestAt: at, lastDetail: "" }],
    },
  ]);
  assert.equal(
    text,
    [
      "strict: 130 profiles in 12 failed batches",
      "  REASON                BATCHES  PROFILES  OLDEST                NEWEST",
      "  network ECONNREFUSED        2       120  2026-01-02T03:04:06Z  2026-01-02T03:04:07Z",
      "  http 400                   10        10  2026-01-02T03:04:05Z  2026-01-02T03:05:05Z",
      "",
      "flaky: no failed batches",
      "",
      "single: 1 profile in 1 failed batch",
      "  REASON   BATCHES  PROFILES  OLDEST                NEWEST",
      "  timeout        1         1  2026-01-02T03:04:05Z  2026-01-02T03:04:05Z",
      "",
    ].join("\n"),
  );
});

test("a target removed from the configuration says so, with what its queue still holds", () => {
  const at = Date.UTC(2026, 0, 2, 3, 4, 5);
  const text = formatFailed([
    { target: "old", batches: 0, profiles: 0, reasons: [], removed: true, waiting: 3 },
    {
      target: "gone",
      batches: 1,
      profiles: 2,
      oldestAt: at,
      newestAt: at,
      removed: true,
      waiting: 1,
      reasons: [{ reason: "http 400", status: 400, batches: 1, profiles: 2, oldestAt: at, newestAt: at, lastDetail: "bad" }],
    },
  ]);
  assert.equal(
    text,
    [
      "old (removed from the configuration; its queue still holds 3 profiles): no failed batches",
      "",
      "gone (removed from the configuration; its queue still holds 1 profile): 2 profiles in 1 failed batch",
      "  REASON    BATCHES  PROFILES  OLDEST                NEWEST",
      "  http 400        1         2  2026-01-02T03:04:05Z  2026-01-02T03:04:05Z",
      "",
    ].join("\n"),
  );
});
