import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { RequestError } from "./request-error.js";

test("the HTTP status is Connect's for the code unless the edge says otherwise", () => {
  assert.equal(new RequestError(Code.InvalidArgument, "bad").httpStatus, 400);
  assert.equal(new RequestError(Code.NotFound, "none").httpStatus, 404);
  assert.equal(new RequestError(Code.ResourceExhausted, "full").httpStatus, 429);
  assert.equal(new RequestError(Code.Internal, "bug").httpStatus, 500);
  assert.equal(new RequestError(Code.ResourceExhausted, "too large", { httpStatus: 413 }).httpStatus, 413);
});

test("Retry-After: 1 s by default on a 503 only, as given otherwise; it travels as Connect metadata", () => {
  const unavailable = new RequestError(Code.Unavailable, "later");
  assert.equal(unavailable.retryAfterSeconds, 1);
  assert.equal(unavailable.metadata.get("retry-after"), "1");
  assert.equal(new RequestError(Code.Unavailable, "upstream", { httpStatus: 502 }).retryAfterSeconds, undefined);
  const full = new RequestError(Code.ResourceExhausted, "full", { retryAfterSeconds: 10 });
  assert.equal(full.metadata.get("retry-after"), "10");
  assert.equal(new RequestError(Code.InvalidArgument, "bad").metadata.has("retry-after"), false);
});

test("renders as Pyroscope's body: the code's Connect name and the message without the code prefix", () => {
  const error = new RequestError(Code.InvalidArgument, "body: the profile is empty");
  assert.equal(error.reason, "invalid_argument");
  assert.deepEqual(JSON.parse(JSON.stringify(error)), { code: "invalid_argument", message: "body: the profile is empty" });
  assert.equal(new RequestError(Code.ResourceExhausted, "x", { httpStatus: 413 }).toJSON().code, "resource_exhausted");
});

test("connect-es takes it for its own error, and only a RequestError is one", () => {
  const cause = new Error("redis down");
  const error = new RequestError(Code.Unavailable, "queue unavailable", { cause });
  assert.ok(error instanceof ConnectError);
  assert.equal(ConnectError.from(error), error, "answered as it is, not wrapped as internal");
  assert.equal(error.cause, cause);
  assert.ok(error instanceof RequestError);
  assert.ok(!(new ConnectError("plain", Code.Internal) instanceof RequestError));
  assert.ok(!(cause instanceof RequestError));
});
