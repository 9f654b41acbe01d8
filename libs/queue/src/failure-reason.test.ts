import assert from "node:assert/strict";
import { test } from "node:test";
import { matchesFailure, parseFailureReason } from "./failure-reason.js";

test("parses the writer's reasons into kind, status and detail", () => {
  const cases: [string, ReturnType<typeof parseFailureReason>][] = [
    ["http 400: bad profile", { reason: "http 400", status: 400, detail: "bad profile" }],
    ['http 400: {"code":"invalid_argument","message":"x: y"}', { reason: "http 400", status: 400, detail: '{"code":"invalid_argument","message":"x: y"}' }],
    ["http 503", { reason: "http 503", status: 503, detail: "" }],
    ["http 422 invalid_argument: profile too old", { reason: "http 422 invalid_argument", status: 422, detail: "profile too old" }],
    ["connect invalid_argument: bad labels", { reason: "connect invalid_argument", detail: "bad labels" }],
    ["network ECONNREFUSED", { reason: "network ECONNREFUSED", detail: "" }],
    ["timeout", { reason: "timeout", detail: "" }],
    ["expired: received 2h ago", { reason: "expired", detail: "received 2h ago" }],
    ["payload expired: the stored profile is gone (TTL or purge)", { reason: "payload expired", detail: "the stored profile is gone (TTL or purge)" }],
    ["invalid labels: empty label name", { reason: "invalid labels", detail: "empty label name" }],
    ["job stalled more than allowable limit", { reason: "job stalled more than allowable limit", detail: "" }],
    ["  http 400:  ", { reason: "http 400", status: 400, detail: "" }],
  ];
  for (const [text, expected] of cases) assert.deepEqual(parseFailureReason(text), expected, text);
});

test("an empty reason is unknown; a headless or overlong kind is a plain error", () => {
  assert.deepEqual(parseFailureReason(undefined), { reason: "unknown", detail: "" });
  assert.deepEqual(parseFailureReason(null), { reason: "unknown", detail: "" });
  assert.deepEqual(parseFailureReason(" "), { reason: "unknown", detail: "" });
  assert.deepEqual(parseFailureReason(": odd"), { reason: "error", detail: ": odd" });
  const long = `${"x".repeat(65)}: y`;
  assert.deepEqual(parseFailureReason(long), { reason: "error", detail: long });
  assert.equal(parseFailureReason("http 4000: no").status, undefined, "not a status");
});

test("a reason filter matches the kind or its leading words, case-insensitively", () => {
  const http400 = parseFailureReason("http 400: bad");
  const refused = parseFailureReason("network ECONNREFUSED");
  assert.equal(matchesFailure(http400, {}), true);
  assert.equal(matchesFailure(http400, { reason: "http 400" }), true);
  assert.equal(matchesFailure(http400, { reason: "HTTP" }), true);
  assert.equal(matchesFailure(http400, { reason: "http 40" }), false, "whole words only");
  assert.equal(matchesFailure(http400, { reason: "timeout" }), false);
  assert.equal(matchesFailure(refused, { reason: "network" }), true);
  assert.equal(matchesFailure(refused, { reason: "network econnrefused" }), true);
});

test("a status filter matches only failures with that HTTP status", () => {
  assert.equal(matchesFailure(parseFailureReason("http 400: bad"), { status: 400 }), true);
  assert.equal(matchesFailure(parseFailureReason("http 413"), { status: 400 }), false);
  assert.equal(matchesFailure(parseFailureReason("timeout"), { status: 400 }), false);
  assert.equal(matchesFailure(parseFailureReason("http 400: bad"), { status: 400, reason: "http" }), true);
  assert.equal(matchesFailure(parseFailureReason("http 400: bad"), { status: 400, reason: "connect" }), false);
});
