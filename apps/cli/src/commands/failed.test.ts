import assert from "node:assert/strict";
import { test } from "node:test";
import { formatFailed } from "./failed.js";

test("prints a table per target, and a line for a target without failures", () => {
  const at = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
  const text = formatFailed([
    {
      target: "strict",
      total: 12,
      oldestAt: at,
      newestAt: at + 60_000,
      reasons: [
        { reason: "http 400", status: 400, count: 10, oldestAt: at, newestAt: at + 60_000, lastDetail: "bad" },
        { reason: "network ECONNREFUSED", count: 2, oldestAt: at + 1_000, newestAt: at + 2_000, lastDetail: "" },
      ],
    },
    { target: "flaky", total: 0, reasons: [] },
  ]);
  assert.equal(
    text,
    [
      "strict: 12 failed",
      "  REASON                COUNT  OLDEST                NEWEST",
      "  http 400                 10  2026-01-02T03:04:05Z  2026-01-02T03:05:05Z",
      "  network ECONNREFUSED      2  2026-01-02T03:04:06Z  2026-01-02T03:04:07Z",
      "",
      "flaky: no failed jobs",
      "",
    ].join("\n"),
  );
});
