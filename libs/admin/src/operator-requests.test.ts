import assert from "node:assert/strict";
import { test } from "node:test";
import { describeRequestError, purgeRequest, replayRequest } from "./operator-requests.js";

function problem(schema: typeof replayRequest | typeof purgeRequest, input: unknown, nameOf?: (field: string) => string): string {
  const parsed = schema.safeParse(input);
  assert.equal(parsed.success, false, JSON.stringify(input));
  return describeRequestError(parsed.error!, nameOf);
}

test("a replay request: durations in ms, reason trimmed, everything but the target optional", () => {
  assert.deepEqual(replayRequest.parse({ target: "a" }), { target: "a" });
  assert.deepEqual(replayRequest.parse({ target: "a", reason: " http 400 ", status: 400, since: "1h30m", limit: 5, dryRun: true }), {
    target: "a",
    reason: "http 400",
    status: 400,
    since: 5_400_000,
    limit: 5,
    dryRun: true,
  });
});

test("a bad replay request names every field at fault", () => {
  assert.equal(
    problem(replayRequest, { status: 600, limit: 2.5, reason: " " }),
    "target: is required: the target whose failed batches to act on; reason: must not be empty; status: must be an HTTP status code; limit: must be a whole number",
  );
  assert.equal(problem(replayRequest, { target: "a", since: "0" }), "since: must be longer than 0");
  assert.equal(
    problem(replayRequest, { target: "a", since: "soon" }),
    'since: invalid duration "soon": expected a number followed by a unit such as ms, s, m or h',
  );
  assert.equal(problem(replayRequest, { target: "a", dryRun: "yes" }), "dryRun: must be true or false");
  assert.equal(problem(replayRequest, { target: "a", dry_run: true }), 'Unrecognized key: "dry_run"');
  assert.equal(problem(replayRequest, null), "Invalid input: expected object, received null");
  assert.equal(
    problem(replayRequest, { target: "a", limit: 0 }, (field) => `--${field}`),
    "--limit: must be at least 1",
  );
});

test("exactReason matches the reason whole, and needs one", () => {
  assert.deepEqual(replayRequest.parse({ target: "a", reason: "http 422", exactReason: true }), { target: "a", reason: "http 422", exactReason: true });
  assert.equal(problem(replayRequest, { target: "a", exactReason: true }), "exactReason: needs a reason to match");
  assert.equal(
    problem(purgeRequest, { target: "a", exactReason: true }, (field) => (field === "exactReason" ? "--exact-reason" : field)),
    "--exact-reason: needs a reason to match",
  );
  assert.equal(problem(purgeRequest, { target: "a", reason: "http", exactReason: "yes" }), "exactReason: must be true or false");
});

test("a purge request", () => {
  assert.deepEqual(purgeRequest.parse({ target: "a", olderThan: "24h" }), { target: "a", olderThan: 86_400_000 });
  assert.equal(problem(purgeRequest, { target: "", olderThan: 5 }), "target: must be a target name; olderThan: must be a duration such as 30m or 2h");
});
