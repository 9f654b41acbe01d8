// A target that echoes the request in its error answer: the failure's detail, which /api/v1/failed,
// the dashboard and the `failed` CLI show, must not carry the credentials the relay sent it.
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import type { Environment, TargetConfig } from "@pyroscope-relay/config";
import { startFakeTarget, startTokenServer, targetConfig, type FakeTarget } from "@pyroscope-relay/testing";
import { attempt } from "./attempt.js";
import { TargetClient, type TargetRequest } from "./target-client.js";

const signal = new AbortController().signal;
const request: TargetRequest = { path: "/ingest", query: "name=app", headers: [], body: Buffer.from("profile"), tenant: undefined };

/** A target answering 403 with `answer` of the request, e.g. its headers. */
async function echoingTarget(t: TestContext, answer: (headers: Record<string, unknown>) => string | Buffer): Promise<FakeTarget> {
  const target = await startFakeTarget();
  t.after(() => target.close());
  target.respond((received) => ({ status: 403, body: answer(received.headers) }));
  return target;
}

function client(t: TestContext, target: FakeTarget, config: Partial<TargetConfig>, env: Environment = {}): TargetClient {
  const created = new TargetClient(targetConfig("t", { url: target.url, ...config }), { env });
  t.after(() => created.close());
  return created;
}

/** The detail of the failure one request to `target` records. */
async function failureDetail(t: TestContext, target: FakeTarget, config: Partial<TargetConfig>, env: Environment = {}): Promise<string> {
  const result = await attempt(client(t, target, config, env), "ingest", request, true, signal);
  assert.equal(result.kind, "permanent");
  assert.equal(result.failure.reason, "http 403");
  return result.failure.detail;
}

test("a bearer_token the target echoes is blanked out of the failure's detail", async (t) => {
  const target = await echoingTarget(t, (headers) => `token ${String(headers.authorization).slice("Bearer ".length)} may not write here`);
  const detail = await failureDetail(t, target, { auth: { kind: "bearer", token: "bt-s3cret-token" } });
  assert.equal(detail, "token <secret> may not write here");
});

test("http_headers values and an Authorization set through headers are blanked out; other headers are shown", async (t) => {
  const target = await echoingTarget(t, (headers) => `refused: ${JSON.stringify(headers)}`);
  const detail = await failureDetail(t, target, {
    headers: { Authorization: "Token hd-s3cret-token", "X-Team": "profiling" },
    httpHeaders: { "X-Api-Key": ["hk-s3cret-one", "hk-s3cret-two"] },
  });
  assert.doesNotMatch(detail, /s3cret/);
  assert.match(detail, /"authorization":"Token <secret>"/);
  assert.match(detail, /"x-api-key":"<secret>, <secret>"/);
  assert.match(detail, /"x-team":"profiling"/);
});

test("basic_auth: neither the Basic credentials nor the password are shown", async (t) => {
  const password = "pw-s3cret";
  const target = await echoingTarget(t, (headers) => `bad credentials ${String(headers.authorization)} (password ${password}?)`);
  const detail = await failureDetail(t, target, { auth: { kind: "basic", username: "relay", password } });
  assert.equal(detail, "bad credentials Basic <secret> (password <secret>?)");
});

test("oauth2: the access token in use is blanked out", async (t) => {
  const tokens = await startTokenServer({ clientId: "relay", clientSecret: "cs-s3cret", expiresIn: 60 });
  t.after(() => tokens.close());
  const target = await echoingTarget(t, (headers) => `no access for ${String(headers.authorization)}`);
  const detail = await failureDetail(t, target, {
    auth: { kind: "oauth2", clientId: "relay", clientSecret: "cs-s3cret", tokenUrl: tokens.url, scopes: [], endpointParams: {} },
  });
  assert.equal(tokens.issued.length, 1);
  assert.equal(detail, "no access for Bearer <secret>");
});

test("a token cut off at the end of the answer's first KiB is blanked too", async (t) => {
  const token = "bt-s3cret-token-of-some-length";
  const target = await echoingTarget(t, () => `${"x".repeat(1024 - 10)}${token} and more`);
  const detail = await failureDetail(t, target, { auth: { kind: "bearer", token } });
  assert.equal(detail, `${"x".repeat(1024 - 10)}<secret>`);
});

test("the end of an answer that was not cut is kept, even where it starts like a token", async (t) => {
  const token = "bt-s3cret-token-of-some-length";
  const target = await echoingTarget(t, () => `refused: ${token.slice(0, 9)}`);
  const detail = await failureDetail(t, target, { auth: { kind: "bearer", token } });
  assert.equal(detail, `refused: ${token.slice(0, 9)}`);
});

test("an Authorization in http_headers: the token alone is blanked out too", async (t) => {
  const target = await echoingTarget(t, () => "token hh-s3cret-token is revoked");
  const detail = await failureDetail(t, target, { httpHeaders: { Authorization: ["Bearer hh-s3cret-token"] } });
  assert.equal(detail, "token <secret> is revoked");
});

test("a Basic Authorization in headers that is not base64 is blanked whole, not decoded to a password", async (t) => {
  // Node decodes "YWI6dGhl!" to "ab:the", skipping the "!": "the" is no password of it.
  const target = await echoingTarget(t, (headers) => `the target refused ${String(headers.authorization)}`);
  const detail = await failureDetail(t, target, { headers: { Authorization: "Basic YWI6dGhl!" } });
  assert.equal(detail, "the target refused Basic <secret>");
});

test("the retry decision reads the answer as written: a Connect code is found even where a credential spells it", async (t) => {
  const target = await startFakeTarget();
  t.after(() => target.close());
  target.respond(() => ({ status: 503, body: JSON.stringify({ code: "unavailable", message: "a code path is down" }) }));
  const relay = client(t, target, { auth: { kind: "basic", username: "relay", password: "code" }, httpHeaders: { "X-Api-Key": ["a"] } });
  const result = await attempt(relay, "push", request, true, signal);
  assert.deepEqual(result, {
    kind: "retry",
    failure: { reason: "connect unavailable", status: 503, detail: '{"<secret>":"unavailable","message":"<secret> <secret> path is down"}' },
    unreachable: false,
  });
});

/** The Basic credentials of a Proxy-Authorization (or Authorization) header, and their bytes. */
function basicOf(header: unknown): { basic: string; bytes: Buffer } {
  const basic = String(header).slice("Basic ".length);
  return { basic, bytes: Buffer.from(basic, "base64") };
}

/** JSON as Go's json.Marshal writes it: `<`, `>` and `&` escaped. */
function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

test("proxy_url: the credentials an http request carries to its proxy, Basic and the %-decoded password, are blanked out of the proxy's answer", async (t) => {
  const proxy = await echoingTarget(t, (headers) => {
    const { basic, bytes } = basicOf(headers["proxy-authorization"]);
    return `proxy refused Proxy-Authorization: Basic ${basic} (${bytes.toString()})`;
  });
  const proxyUrl = `http://relay:p%40ss-s3cret@${new URL(proxy.url).host}`;
  const detail = await failureDetail(t, proxy, { url: "http://plain.test:4040", proxy: { kind: "url", url: proxyUrl } });
  assert.equal(proxy.requests[0]?.path, "http://plain.test:4040/ingest", "forwarded to the proxy in absolute form");
  assert.equal(detail, "proxy refused Proxy-Authorization: Basic <secret> (relay:<secret>)");
});

test("proxy_from_environment: HTTP_PROXY's credentials are blanked out of its answer too", async (t) => {
  const proxy = await echoingTarget(t, (headers) => `who is ${basicOf(headers["proxy-authorization"]).bytes.toString()}?`);
  const env = { HTTP_PROXY: `http://relay:env-s3cret@${new URL(proxy.url).host}` };
  const detail = await failureDetail(t, proxy, { url: "http://plain.test:4040", proxy: { kind: "environment" } }, env);
  assert.equal(proxy.requests.length, 1);
  assert.equal(detail, "who is relay:<secret>?");
});

test("a proxy password that is not UTF-8 (%E9) is blanked as its bytes read back and as latin1 text", async (t) => {
  const proxy = await echoingTarget(t, (headers) => {
    const password = basicOf(headers["proxy-authorization"]).bytes.subarray("relay:".length);
    // Echoed as bytes, and as a server that takes header bytes for latin1 writes them back.
    return Buffer.concat([Buffer.from("bytes "), password, Buffer.from(` latin1 ${password.toString("latin1")}`)]);
  });
  const proxyUrl = `http://relay:p%E9ss-s3cret@${new URL(proxy.url).host}`;
  const detail = await failureDetail(t, proxy, { url: "http://plain.test:4040", proxy: { kind: "url", url: proxyUrl } });
  assert.equal(detail, "bytes <secret> latin1 <secret>");
});

test("a password the target quotes in JSON, escaped as Go's json.Marshal writes it, is blanked out", async (t) => {
  const password = 'pw<s3cret>&"more';
  const target = await echoingTarget(t, () => goJson({ error: "bad credentials", password }));
  const detail = await failureDetail(t, target, { auth: { kind: "basic", username: "relay", password } });
  assert.equal(detail, '{"error":"bad credentials","password":"<secret>"}');
});

test("a password beyond ASCII cut at the answer's first KiB inside a character: its start is blanked", async (t) => {
  const password = "pässwörd-s3cret";
  // 1017 bytes, then "pässw" (6 bytes) and the first byte of "ö": the KiB ends inside it.
  const target = await echoingTarget(t, () => `${"x".repeat(1017)}${password} and more`);
  const detail = await failureDetail(t, target, { auth: { kind: "basic", username: "relay", password } });
  assert.equal(detail, `${"x".repeat(1017)}<secret>`);
});
