import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { test } from "node:test";
import { redirected, type RedirectableRequest } from "./redirect.js";

function post(overrides: Partial<RedirectableRequest> = {}): RedirectableRequest {
  return {
    origin: "https://pyroscope.example:4040",
    path: "/base/ingest?name=app",
    method: "POST",
    headers: [
      "Content-Type",
      "application/octet-stream",
      "Authorization",
      "Bearer s3cret",
      "Cookie",
      "c=1",
      "Host",
      "pyroscope.example",
      "X-Scope-OrgID",
      "t1",
    ],
    body: Buffer.from("profile"),
    ...overrides,
  };
}

test("an answer that is no redirect, or has no usable Location, is the answer", () => {
  // 300 too: Go's http.Client (Alloy's) does not follow it.
  for (const status of [200, 204, 300, 304, 400, 404, 500]) assert.equal(redirected(post(), status, "/elsewhere"), undefined, `status ${status}`);
  assert.equal(redirected(post(), 307, undefined), undefined);
  assert.equal(redirected(post(), 307, ""), undefined);
  assert.equal(redirected(post(), 307, "http://[::1"), undefined, "a Location that is no URL");
});

test("307 and 308 resend the request as it was, the Location resolved against the request's URL", () => {
  for (const status of [307, 308]) {
    const next = redirected(post(), status, "../v2/ingest?name=app&x=%7B")!;
    assert.equal(next.origin, "https://pyroscope.example:4040");
    assert.equal(next.path, "/v2/ingest?name=app&x=%7B");
    assert.equal(next.method, "POST");
    assert.deepEqual(next.body, Buffer.from("profile"));
    assert.deepEqual(
      next.headers,
      ["Content-Type", "application/octet-stream", "Authorization", "Bearer s3cret", "Cookie", "c=1", "X-Scope-OrgID", "t1"],
      "Host goes",
    );
  }
});

test("301 and 302 turn a POST into a GET without body; 303 anything but HEAD, dropping Content-*", () => {
  for (const status of [301, 302]) {
    const next = redirected(post(), status, "/moved")!;
    assert.deepEqual([next.method, next.body, next.path], ["GET", null, "/moved"]);
    assert.ok(next.headers.includes("Content-Type"));
    assert.equal(redirected(post({ method: "PUT" }), status, "/moved")?.method, "PUT");
  }
  const seeOther = redirected(post(), 303, "/see")!;
  assert.deepEqual([seeOther.method, seeOther.body], ["GET", null]);
  assert.ok(!seeOther.headers.some((name) => name.toLowerCase().startsWith("content-")));
  assert.equal(redirected(post({ method: "HEAD", body: null }), 303, "/see")?.method, "HEAD");
});

test("credentials go to no other host, nor down from https to http; another port or an upgrade to https keeps them, as in Go", () => {
  for (const location of ["http://pyroscope.example:4040/ingest", "https://other.example:4040/ingest"]) {
    const next = redirected(post(), 307, location)!;
    assert.equal(next.origin, new URL(location).origin);
    assert.deepEqual(next.headers, ["Content-Type", "application/octet-stream", "X-Scope-OrgID", "t1"], location);
  }
  for (const location of ["https://pyroscope.example:4041/ingest", "https://PYROSCOPE.example:4040/x"]) {
    assert.ok(redirected(post(), 307, location)!.headers.includes("Authorization"), location);
  }
  const upgraded = redirected(post({ origin: "http://pyroscope.example" }), 308, "https://pyroscope.example/ingest")!;
  assert.ok(upgraded.headers.includes("Authorization"), "http to https on the same host");
});

test("a streamed body cannot go again: a 307 is the answer, a 303 is followed without it", () => {
  const body = Readable.from([Buffer.from("upload")]);
  assert.equal(redirected(post({ body }), 307, "/again"), undefined);
  assert.equal(redirected(post({ body }), 308, "/again"), undefined);
  assert.deepEqual(redirected(post({ body }), 303, "/status")?.body, null);
});
