import assert from "node:assert/strict";
import { test } from "node:test";
import { describePurge, describePurgeRequest, describeReplay, purgeRequestOf, replayRequestOf } from "./operator-forms.js";

const empty = { target: "strict", reason: "", exactReason: false, status: "", since: "", limit: "" };

test("a replay request leaves out the empty filters", () => {
  assert.deepEqual(replayRequestOf(empty, true), { target: "strict", dryRun: true });
  assert.deepEqual(replayRequestOf({ target: "a/0", reason: " http 400 ", exactReason: false, status: "400", since: "2h ", limit: "10" }, false), {
    target: "a/0",
    reason: "http 400",
    status: 400,
    since: "2h",
    limit: 10,
    dryRun: false,
  });
});

test("a number out of range goes as typed, for the API to name the field", () => {
  assert.deepEqual(replayRequestOf({ ...empty, status: "40.5", limit: "0" }, true), { target: "strict", status: 40.5, limit: 0, dryRun: true });
});

test("a purge request leaves out the empty filters, and says what it deletes", () => {
  const none = { target: "strict", reason: " ", exactReason: true, status: "", olderThan: "  " };
  assert.deepEqual(purgeRequestOf(none), { target: "strict" }, "this reason only, without a reason: any");
  assert.equal(describePurgeRequest(purgeRequestOf(none)), "the failed batches of strict");
  const row = purgeRequestOf({ target: "strict", reason: " http 400 ", exactReason: true, status: "400", olderThan: "24h" });
  assert.deepEqual(row, { target: "strict", reason: "http 400", exactReason: true, status: 400, olderThan: "24h" });
  assert.equal(describePurgeRequest(row), 'the failed batches of strict whose failure is "http 400" with status 400 older than 24h');
  const words = purgeRequestOf({ target: "strict", reason: "http", exactReason: false, status: "", olderThan: "" });
  assert.deepEqual(words, { target: "strict", reason: "http" });
  assert.equal(describePurgeRequest(words), 'the failed batches of strict whose failure is or starts with "http"');
});

test("outcomes read as the CLI's", () => {
  const result = { target: "strict", asOf: "2026-12-05T20:31:02.123Z", replayed: 1, replayedProfiles: 3, skipped: 0, notMatched: 2 };
  assert.equal(describeReplay({ ...result, dryRun: true }), "Dry run: would replay 1 batch (3 profiles); skipped 0 (payload gone), not matched 2.");
  assert.equal(describeReplay({ ...result, dryRun: false }), "Replayed 1 batch (3 profiles) of strict; skipped 0 (payload gone), not matched 2.");
  assert.equal(
    describePurge({ target: "strict", dryRun: false, asOf: "2026-12-05T20:31:02.123Z", purged: 2, purgedProfiles: 2, payloadsDeleted: 1 }),
    "Purged 2 failed batches (2 profiles) of strict; deleted 1 stored profile no other job held.",
  );
});
