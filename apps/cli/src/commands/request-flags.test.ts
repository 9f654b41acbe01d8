import assert from "node:assert/strict";
import { test } from "node:test";
import { purgeRequest, replayRequest } from "@pyroscope-relay/admin";
import { UsageError } from "../usage-error.js";
import { flagOf, integerFlag, parseRequestFlags } from "./request-flags.js";

test("names request fields as the flags they come from", () => {
  assert.deepEqual(["target", "olderThan", "dryRun"].map(flagOf), ["--target", "--older-than", "--dry-run"]);
});

test("passes whole numbers as numbers and anything else on as text", () => {
  assert.deepEqual([integerFlag("400"), integerFlag("4e2"), integerFlag("-1"), integerFlag(undefined)], [400, "4e2", "-1", undefined]);
});

test("validates flags with the request schema and reports the flags at fault", () => {
  assert.deepEqual(parseRequestFlags("replay", replayRequest, { target: "a", status: 400, since: "2h", dryRun: false }), {
    target: "a",
    status: 400,
    since: 7_200_000,
    dryRun: false,
  });
  assert.throws(
    () => parseRequestFlags("replay", replayRequest, { target: undefined, status: "4e2", limit: 0 }),
    (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(
        error.message,
        "replay: --target: is required: the target whose failed batches to act on; --status: must be an HTTP status code; --limit: must be at least 1",
      );
      return true;
    },
  );
  assert.throws(() => parseRequestFlags("purge", purgeRequest, { target: "", dryRun: false }), /^UsageError: purge: --target: must be a target name$/);
  assert.throws(
    () => parseRequestFlags("purge", purgeRequest, { target: "a", olderThan: "soon" }),
    /^UsageError: purge: --older-than: invalid duration "soon"/,
  );
});
