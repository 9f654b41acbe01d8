import assert from "node:assert/strict";
import { test } from "node:test";
import { describeFailure, matchesFailure, reasonFromText, sameFailure, type FailureReason } from "./failure-reason.js";

const http400: FailureReason = { reason: "http 400", status: 400, detail: "bad" };
const refused: FailureReason = { reason: "network ECONNREFUSED", detail: "" };

test("a failure reads as `<reason>[: <detail>]`", () => {
  assert.equal(describeFailure(http400), "http 400: bad");
  assert.equal(describeFailure(refused), "network ECONNREFUSED");
});

test("a failure BullMQ recorded by itself gets a reason from its text", () => {
  assert.deepEqual(reasonFromText("job stalled more than allowable limit"), { reason: "stalled", detail: "job stalled more than allowable limit" });
  assert.deepEqual(reasonFromText("something odd"), { reason: "error", detail: "something odd" });
  assert.deepEqual(reasonFromText(undefined), { reason: "unknown", detail: "" });
  assert.deepEqual(reasonFromText("  "), { reason: "unknown", detail: "" });
});

test("a reason filter matches the kind or its leading words, case-insensitively", () => {
  assert.equal(matchesFailure(http400, {}), true);
  assert.equal(matchesFailure(http400, { reason: "http 400" }), true);
  assert.equal(matchesFailure(http400, { reason: "HTTP" }), true);
  assert.equal(matchesFailure(http400, { reason: "http 40" }), false, "whole words only");
  assert.equal(matchesFailure(http400, { reason: "timeout" }), false);
  assert.equal(matchesFailure(refused, { reason: "network" }), true);
  assert.equal(matchesFailure(refused, { reason: "network econnrefused" }), true);
});

test("an exact reason filter matches the kind whole, case-insensitively", () => {
  const coded: FailureReason = { reason: "http 422 invalid_argument", status: 422, detail: "" };
  assert.equal(matchesFailure(coded, { reason: "http 422" }), true, "leading words");
  assert.equal(matchesFailure(coded, { reason: "http 422", exactReason: true }), false);
  assert.equal(matchesFailure(coded, { reason: "HTTP 422 invalid_argument", exactReason: true }), true);
  assert.equal(matchesFailure(coded, { exactReason: true }), true, "no reason: any");
});

test("a status filter matches only failures with that HTTP status", () => {
  assert.equal(matchesFailure(http400, { status: 400 }), true);
  assert.equal(matchesFailure({ reason: "http 413", status: 413, detail: "" }, { status: 400 }), false);
  assert.equal(matchesFailure({ reason: "timeout", detail: "" }, { status: 400 }), false);
  assert.equal(matchesFailure(http400, { status: 400, reason: "http" }), true);
  assert.equal(matchesFailure(http400, { status: 400, reason: "connect" }), false);
});

test("failures are the same when kind, status and detail are", () => {
  assert.equal(sameFailure(http400, { ...http400 }), true);
  assert.equal(sameFailure(http400, { ...http400, detail: "other" }), false);
  assert.equal(sameFailure(http400, { reason: "http 400", detail: "bad" }), false);
});
