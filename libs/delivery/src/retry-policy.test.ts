import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classifyError, classifyResponse, isUnreachable, type DeliveryResponse, type Outcome } from "./retry-policy.js";

const retry = (reason: string): Outcome => ({ kind: "retry", reason });
const permanent = (reason: string): Outcome => ({ kind: "permanent", reason });
const refused = (reason: string): Outcome => ({ kind: "permanent", reason, refusesContent: true });
const connectBody = (code: string) => JSON.stringify({ code, message: "boom" });

type Row = [status: number, body: string, expected: Outcome];

function table(api: DeliveryResponse["api"], retryOnHttp429: boolean, rows: Row[]): void {
  // A Connect server's answers carry its codec's Content-Type.
  const contentType = api === "push" ? "application/proto" : undefined;
  for (const [status, body, expected] of rows) {
    it(`${status} ${body || "(empty)"} -> ${expected.kind}`, () => {
      assert.deepEqual(classifyResponse({ api, status, body, contentType, retryOnHttp429 }), expected);
    });
  }
}

describe("a Push 200 is delivered only as a Connect answer", () => {
  for (const contentType of ["application/proto", "Application/Proto; charset=binary"]) {
    it(`${contentType} -> delivered`, () => {
      assert.deepEqual(classifyResponse({ api: "push", status: 200, body: "", contentType, retryOnHttp429: true }), { kind: "delivered" });
    });
  }
  for (const contentType of ["text/html; charset=utf-8", "application/protobuf", undefined]) {
    it(`${contentType ?? "none"} -> retried as internal, as a Connect client fails it`, () => {
      assert.deepEqual(classifyResponse({ api: "push", status: 200, body: "<html>", contentType, retryOnHttp429: true }), {
        kind: "retry",
        reason: "connect internal",
        detail: `a 200 with Content-Type ${JSON.stringify(contentType ?? "")}, not application/proto: not a Connect answer`,
      });
    });
  }
  it("/ingest: any 200", () => {
    assert.deepEqual(classifyResponse({ api: "ingest", status: 200, body: "", contentType: "text/html", retryOnHttp429: true }), { kind: "delivered" });
  });
});

describe("classifyResponse for /ingest", () => {
  table("ingest", true, [
    [200, "", { kind: "delivered" }],
    [204, "", permanent("http 204")],
    [408, "", retry("http 408")],
    [429, "", retry("http 429")],
    [500, "", retry("http 500")],
    [501, "", retry("http 501")],
    [503, "no", retry("http 503")],
    [599, "", retry("http 599")],
    [400, connectBody("invalid_argument"), permanent("http 400")],
    [401, "", permanent("http 401")],
    [404, "", permanent("http 404")],
    [413, "", permanent("http 413")],
    [415, "", permanent("http 415")],
    [422, JSON.stringify({ code: "unknown", message: "unavailable: ingester is shutting down" }), retry("http 422 unavailable")],
    [422, JSON.stringify({ code: "unknown", message: "push failed: deadline_exceeded: slow" }), retry("http 422 deadline_exceeded")],
    [422, "internal: oops", retry("http 422 internal")],
    [422, "canceled: context canceled", retry("http 422 canceled")],
    [422, "unknown: something", retry("http 422 unknown")],
    [422, JSON.stringify({ code: "unknown", message: "invalid_argument: profile too old" }), permanent("http 422 invalid_argument")],
    [422, "invalid_argument: bad, unavailable: later", permanent("http 422 invalid_argument")],
    [422, JSON.stringify({ code: "unknown", message: "failed to parse pprof: unexpected EOF" }), permanent("http 422")],
    [422, "not_unavailable: x", permanent("http 422")],
    [422, "", permanent("http 422")],
  ]);
});

describe("classifyResponse for /ingest without retry_on_http_429", () => {
  table("ingest", false, [
    [429, "", permanent("http 429")],
    [503, "", retry("http 503")],
  ]);
});

describe("classifyResponse for Push", () => {
  table("push", true, [
    [200, "{}", { kind: "delivered" }],
    [503, connectBody("unavailable"), retry("connect unavailable")],
    [504, connectBody("deadline_exceeded"), retry("connect deadline_exceeded")],
    [500, connectBody("unknown"), retry("connect unknown")],
    [500, connectBody("internal"), retry("connect internal")],
    [500, connectBody("data_loss"), retry("connect data_loss")],
    [409, connectBody("aborted"), retry("connect aborted")],
    [429, connectBody("resource_exhausted"), retry("connect resource_exhausted")],
    [400, connectBody("invalid_argument"), refused("connect invalid_argument")],
    [503, connectBody("invalid_argument"), refused("connect invalid_argument")],
    [499, connectBody("canceled"), permanent("connect canceled")],
    [409, connectBody("already_exists"), refused("connect already_exists")],
    [401, connectBody("unauthenticated"), permanent("connect unauthenticated")],
    [501, connectBody("unimplemented"), permanent("connect unimplemented")],
    // No Connect body: the code a Connect client infers from the status decides.
    [400, "Bad Request", retry("http 400")],
    [401, "", permanent("http 401")],
    [403, "", permanent("http 403")],
    [404, "404 page not found", permanent("http 404")],
    [408, "", retry("http 408")],
    [413, "", retry("http 413")],
    [429, "", retry("http 429")],
    [502, "<html>", retry("http 502")],
    [503, "", retry("http 503")],
    [504, "", retry("http 504")],
    [500, JSON.stringify({ code: "not_a_code" }), retry("http 500")],
    [404, JSON.stringify({ code: 7 }), permanent("http 404")],
    [404, "null", permanent("http 404")],
    // Only the first KiB of a long error is kept: cut off, its start still names the code.
    [400, `{"code":"invalid_argument","message":"${"x".repeat(2_000)}`.slice(0, 1_024), refused("connect invalid_argument")],
    [503, ` {"code": "unavailable","message":"${"y".repeat(2_000)}`.slice(0, 1_024), retry("connect unavailable")],
  ]);
});

describe("classifyResponse for Push without retry_on_http_429", () => {
  table("push", false, [
    [429, connectBody("resource_exhausted"), permanent("connect resource_exhausted")],
    // A Connect client reads a bare 429 as unavailable, which Alloy retries whatever retry_on_http_429 says.
    [429, "", retry("http 429")],
    [429, connectBody("unavailable"), retry("connect unavailable")],
    [503, connectBody("unavailable"), retry("connect unavailable")],
  ]);
});

const withCode = (message: string, code: string, extra: object = {}) => Object.assign(new Error(message), { code }, extra);

describe("classifyError", () => {
  it("calls aborts and timeouts a timeout", () => {
    assert.deepEqual(classifyError(new DOMException("The operation timed out.", "TimeoutError")), retry("timeout"));
    assert.deepEqual(classifyError(new DOMException("This operation was aborted", "AbortError")), retry("timeout"));
    assert.deepEqual(classifyError(withCode("Headers Timeout Error", "UND_ERR_HEADERS_TIMEOUT")), retry("timeout"));
    assert.deepEqual(classifyError(new TypeError("fetch failed", { cause: withCode("Connect Timeout Error", "UND_ERR_CONNECT_TIMEOUT") })), retry("timeout"));
  });

  it("names the socket error code, found along fetch's cause chain", () => {
    assert.deepEqual(classifyError(withCode("connect ECONNREFUSED 127.0.0.1:4040", "ECONNREFUSED")), retry("network ECONNREFUSED"));
    assert.deepEqual(classifyError(new TypeError("fetch failed", { cause: withCode("other side closed", "UND_ERR_SOCKET") })), retry("network UND_ERR_SOCKET"));
    for (const code of ["ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN"]) {
      assert.deepEqual(classifyError(new TypeError("fetch failed", { cause: withCode(code, code) })), retry(`network ${code}`));
    }
  });

  it("calls a target unreachable only when nobody answers at its address, not when a connection breaks under a request", () => {
    for (const code of ["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]) {
      assert.equal(isUnreachable(new TypeError("fetch failed", { cause: withCode(code, code) })), true, code);
    }
    // A reset may be the request's own doing, every time: it uses an attempt.
    for (const code of ["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "ETIMEDOUT"]) {
      assert.equal(isUnreachable(new TypeError("fetch failed", { cause: withCode(code, code) })), false, code);
    }
    assert.equal(isUnreachable(new DOMException("The operation timed out.", "TimeoutError")), false);
  });

  it("looks into an AggregateError from happy-eyeballs connects", () => {
    const aggregate = new AggregateError([withCode("connect ECONNREFUSED ::1:4040", "ECONNREFUSED")], "");
    assert.deepEqual(classifyError(new TypeError("fetch failed", { cause: aggregate })), retry("network ECONNREFUSED"));
  });

  it("retries anything else too, named by its class", () => {
    assert.deepEqual(classifyError(new TypeError("fetch failed")), retry("error TypeError"));
    assert.deepEqual(classifyError(withCode("no code", "")), retry("error Error"));
    assert.deepEqual(classifyError("a string"), retry("error"));
    assert.deepEqual(classifyError(undefined), retry("error"));
  });

  it("survives a cause cycle", () => {
    const err: Error & { cause?: unknown } = new Error("loop");
    err.cause = err;
    assert.deepEqual(classifyError(err), retry("error Error"));
  });
});

describe("classifyResponse with credentials that renew themselves (files, oauth2)", () => {
  const classify = (api: DeliveryResponse["api"], status: number, body: string, retryUnauthenticated: boolean) =>
    classifyResponse({ api, status, body, retryOnHttp429: true, retryUnauthenticated });

  it("retries a 401 on /ingest, and an unauthenticated Push, from a body or from the status", () => {
    assert.deepEqual(classify("ingest", 401, "", true), retry("http 401"));
    assert.deepEqual(classify("push", 401, "", true), retry("http 401"));
    assert.deepEqual(classify("push", 400, connectBody("unauthenticated"), true), retry("connect unauthenticated"));
  });

  it("keeps a 403 permanent: another secret would not change the permissions", () => {
    assert.deepEqual(classify("ingest", 403, "", true), permanent("http 403"));
    assert.deepEqual(classify("push", 403, connectBody("permission_denied"), true), permanent("connect permission_denied"));
  });

  it("keeps 401 permanent for credentials that cannot change", () => {
    assert.deepEqual(classify("ingest", 401, "", false), permanent("http 401"));
    assert.deepEqual(classify("push", 401, connectBody("unauthenticated"), false), permanent("connect unauthenticated"));
  });
});
