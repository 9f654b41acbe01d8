import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import type { TargetAuth } from "@pyroscope-relay/config";
import {
  startFakeTarget,
  startForwardProxy,
  startTlsFront,
  startTokenServer,
  testPki,
  type TokenServer,
  type TokenServerOptions,
} from "@pyroscope-relay/testing";
import { DeliveryError } from "./delivery-error.js";
import { OAuth2TokenSource, refreshBeforeExpiryMs } from "./oauth2-token-source.js";

type OAuth2 = Extract<TargetAuth, { kind: "oauth2" }>;

const clientSecret = "cs-OAUTH-s3cret/with+odd chars";
const signal = new AbortController().signal;

async function tokenServer(t: TestContext, options: Partial<TokenServerOptions> = {}): Promise<TokenServer> {
  const server = await startTokenServer({ clientId: "relay", clientSecret, expiresIn: 60, ...options });
  t.after(() => server.close());
  return server;
}

function source(t: TestContext, server: { url: string }, config: Partial<OAuth2> = {}, clock?: { now: number }) {
  const oauth2: OAuth2 = { kind: "oauth2", clientId: "relay", clientSecret, tokenUrl: server.url, scopes: [], endpointParams: {}, ...config };
  const tokens = new OAuth2TokenSource(oauth2, { timeoutMs: 2_000, env: {}, ...(clock ? { now: () => clock.now } : {}) });
  t.after(() => tokens.close());
  return tokens;
}

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const error = await promise.then(
    () => assert.fail("expected the token request to fail"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof DeliveryError, String(error));
  return error;
}

test("fetches a token once and reuses it until shortly before it expires", async (t) => {
  const server = await tokenServer(t, { expiresIn: 60 });
  const clock = { now: 1_000_000 };
  const tokens = source(t, server, {}, clock);
  assert.equal(await tokens.authorization(signal), "Bearer token-1");
  clock.now += 60_000 - refreshBeforeExpiryMs - 1;
  assert.equal(await tokens.authorization(signal), "Bearer token-1");
  assert.equal(server.requests.length, 1);
  clock.now += 1;
  assert.equal(await tokens.authorization(signal), "Bearer token-2", "refreshed before it expires");
  assert.equal(server.requests.length, 2);
});

test("requests that overlap share one fetch", async (t) => {
  const server = await tokenServer(t);
  const tokens = source(t, server);
  const headers = await Promise.all(Array.from({ length: 8 }, () => tokens.authorization(signal)));
  assert.deepEqual(new Set(headers), new Set(["Bearer token-1"]));
  assert.equal(server.requests.length, 1);
});

test("sends the client credentials grant with scopes and endpoint_params, credentials as Basic", async (t) => {
  const server = await tokenServer(t);
  const tokens = source(t, server, { scopes: ["profiles:write", "openid"], endpointParams: { audience: "pyroscope" } });
  await tokens.authorization(signal);
  const [request] = server.requests;
  assert.equal(request?.via, "basic");
  assert.equal(request?.clientSecret, clientSecret);
  assert.deepEqual(request?.form, { grant_type: "client_credentials", scope: "profiles:write openid", audience: "pyroscope" });
  assert.equal(request?.headers["content-type"], "application/x-www-form-urlencoded");
});

test("a provider that refuses Basic credentials gets them in the form, from then on only there", async (t) => {
  const server = await tokenServer(t, { formOnly: true, expiresIn: 0 });
  const tokens = source(t, server);
  assert.equal(await tokens.authorization(signal), "Bearer token-1");
  assert.deepEqual(
    server.requests.map((r) => r.via),
    ["basic", "form"],
  );
  assert.equal(server.requests[1]?.form["client_secret"], clientSecret);
  tokens.refused("Bearer token-1");
  assert.equal(await tokens.authorization(signal), "Bearer token-2");
  assert.deepEqual(
    server.requests.map((r) => r.via),
    ["basic", "form", "form"],
  );
});

test("a refused token is replaced by the next request; a token without a lifetime is kept otherwise", async (t) => {
  const server = await tokenServer(t, { expiresIn: 0 });
  const clock = { now: 0 };
  const tokens = source(t, server, {}, clock);
  assert.equal(await tokens.authorization(signal), "Bearer token-1");
  clock.now += 365 * 24 * 3_600_000;
  assert.equal(await tokens.authorization(signal), "Bearer token-1");
  tokens.refused("Bearer some-older-token");
  assert.equal(await tokens.authorization(signal), "Bearer token-1", "a refusal of an older token changes nothing");
  tokens.refused("Bearer token-1");
  assert.equal(await tokens.authorization(signal), "Bearer token-2");
});

test("a rotated client_secret_file: the new secret is read and a new token fetched with it", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "oauth2-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "client-secret");
  await writeFile(file, "cs-old\n");
  const server = await tokenServer(t, { clientSecret: "cs-old" });
  const tokens = source(t, server, { clientSecret: "cs-old", clientSecretFile: file });
  assert.equal(await tokens.authorization(signal), "Bearer token-1");

  server.acceptSecret("cs-new");
  await writeFile(file, "cs-new\n");
  assert.equal(await tokens.authorization(signal), "Bearer token-2");
  assert.equal(server.requests.at(-1)?.clientSecret, "cs-new");
});

test("token types as Go spells them; form-encoded answers are read too", async (t) => {
  const server = await tokenServer(t);
  const tokens = source(t, server);
  const answers: [string, string, string][] = [
    ["application/json", '{"access_token":"a1","token_type":"MAC"}', "MAC a1"],
    ["application/json", '{"access_token":"a2","token_type":"DPoP"}', "DPoP a2"],
    ["application/json; charset=utf-8", '{"access_token":"a3"}', "Bearer a3"],
    ["application/x-www-form-urlencoded", "access_token=a4&token_type=bearer&expires_in=3600", "Bearer a4"],
    ["text/plain", "access_token=a5", "Bearer a5"],
  ];
  let current = await tokens.authorization(signal);
  for (const [contentType, body, header] of answers) {
    server.answer({ status: 200, headers: { "content-type": contentType }, body });
    tokens.refused(current);
    current = await tokens.authorization(signal);
    assert.equal(current, header, body);
  }
});

test("an error answer fails as `oauth2 http <status>`, naming the endpoint, never the secret (even echoed)", async (t) => {
  const server = await tokenServer(t);
  const tokens = source(t, server);
  server.answer({ status: 503, body: `overloaded; you sent client_secret=${encodeURIComponent(clientSecret)} and ${clientSecret}` });
  const error = await failure(tokens.authorization(signal));
  assert.equal(error.reason, "oauth2 http 503");
  assert.equal(error.status, 503);
  assert.equal(error.unreachable, false);
  assert.match(error.message, new RegExp(`^token_url http://127\\.0\\.0\\.1:${server.port}/oauth/token: overloaded`));
  assert.doesNotMatch(error.message, /s3cret/);
  assert.equal(server.requests.length, 2, "Basic, then the form");

  server.answer({ status: 200, headers: { "content-type": "application/json" }, body: '{"token_type":"bearer"}' });
  const missing = await failure(tokens.authorization(signal));
  assert.equal(missing.reason, "oauth2 invalid response");
  assert.match(missing.message, /no access_token/);

  server.answer(undefined);
  assert.equal(await tokens.authorization(signal), "Bearer token-1", "recovers once the endpoint answers");
});

test("a refresh refused by an endpoint that echoes the Basic credentials it got: the message does not show them", async (t) => {
  const server = await tokenServer(t, { expiresIn: 0 });
  const tokens = source(t, server);
  assert.equal(await tokens.authorization(signal), "Bearer token-1");
  tokens.refused("Bearer token-1");
  const basic = /^Basic (.+)$/.exec(server.requests[0]?.headers.authorization ?? "")?.[1];
  assert.ok(basic);
  server.answer({ status: 503, body: `overloaded; you sent Authorization: Basic ${basic}` });
  const error = await failure(tokens.authorization(signal));
  assert.equal(error.reason, "oauth2 http 503");
  assert.equal(server.requests.at(-1)?.via, "basic", "Basic only, once it worked");
  assert.ok(!error.message.includes(basic), error.message);
  assert.match(error.message, /: overloaded; you sent Authorization: Basic <secret>$/);
});

test("an error answer is quoted up to its first KiB: a secret across the cut is blanked from its start", async (t) => {
  const server = await tokenServer(t);
  const tokens = source(t, server);
  server.answer({ status: 503, body: `${"x".repeat(1020)}${clientSecret} and more` });
  const error = await failure(tokens.authorization(signal));
  assert.equal(error.message, `token_url http://127.0.0.1:${server.port}/oauth/token: ${"x".repeat(1020)}<secret>`);
});

test("a token endpoint behind an environment proxy with a malformed %-escape in its credentials: the failure says so", async (t) => {
  const env = { HTTPS_PROXY: "http://relay:p%zz-s3cret@127.0.0.1:1", HTTP_PROXY: "http://relay:p%zz-s3cret@127.0.0.1:1" };
  const oauth2: OAuth2 = { kind: "oauth2", clientId: "relay", clientSecret, tokenUrl: "http://auth.test/oauth/token", scopes: [], endpointParams: {} };
  const tokens = new OAuth2TokenSource({ ...oauth2, proxy: { kind: "environment" } }, { timeoutMs: 2_000, env });
  t.after(() => tokens.close());
  const error = await failure(tokens.authorization(signal));
  assert.equal(error.reason, "oauth2 proxy credentials");
  assert.equal(
    error.message,
    "token_url http://auth.test/oauth/token: proxy http://127.0.0.1:1 (HTTP_PROXY or HTTPS_PROXY): its credentials hold a malformed %-escape (write % as %25)",
  );
});

test("an unreachable token endpoint fails as `oauth2 network ...`, unreachable, without credentials in the message", async (t) => {
  const server = await tokenServer(t);
  await server.close();
  const tokens = source(t, { url: `http://user:pw-URL-s3cret@127.0.0.1:${server.port}/token?key=q-s3cret` });
  const error = await failure(tokens.authorization(signal));
  assert.equal(error.reason, "oauth2 network ECONNREFUSED");
  assert.equal(error.unreachable, true);
  assert.equal(error.message, `token_url http://127.0.0.1:${server.port}/token: no answer`);
});

test("reaches the token endpoint with its own tls_config, through its own proxy", async (t) => {
  const pki = await testPki();
  const ca = await pki.authority("oauth-ca");
  const { cert, key } = await ca.issue("auth.test", { names: ["auth.test"] });
  const server = await tokenServer(t);
  const front = await startTlsFront(server.port, { cert: cert.pem, key: key.pem });
  t.after(() => front.close());
  const proxy = await startForwardProxy(() => front.port);
  t.after(() => proxy.close());

  const tokens = source(
    t,
    { url: "https://auth.test/oauth/token" },
    { tls: { ca: ca.cert.pem, insecureSkipVerify: false }, proxy: { kind: "url", url: proxy.url } },
  );
  assert.equal(await tokens.authorization(signal), "Bearer token-1");
  assert.deepEqual(
    proxy.requests.map((r) => [r.method, r.target]),
    [["CONNECT", "auth.test:443"]],
  );
  assert.equal(front.sessions[0]?.servername, "auth.test");

  const untrusted = source(t, { url: "https://auth.test/oauth/token" }, { proxy: { kind: "url", url: proxy.url } });
  const error = await failure(untrusted.authorization(signal));
  assert.equal(error.reason, "oauth2 network UNABLE_TO_VERIFY_LEAF_SIGNATURE");
});

test("a token endpoint behind a proxy that echoes the credentials it was sent: the failure shows neither Basic nor password", async (t) => {
  const proxy = await startFakeTarget();
  t.after(() => proxy.close());
  proxy.respond((request) => {
    const basic = String(request.headers["proxy-authorization"]).slice("Basic ".length);
    return { status: 503, body: `proxy overloaded; Proxy-Authorization: Basic ${basic} (${Buffer.from(basic, "base64").toString()})` };
  });
  const proxyUrl = `http://relay:p%40ss-s3cret@${new URL(proxy.url).host}`;
  const tokens = source(t, { url: "http://auth.test/oauth/token" }, { proxy: { kind: "url", url: proxyUrl } });
  const error = await failure(tokens.authorization(signal));
  assert.equal(error.reason, "oauth2 http 503");
  assert.equal(proxy.requests[0]?.path, "http://auth.test/oauth/token", "forwarded to the proxy in absolute form");
  assert.equal(error.message, "token_url http://auth.test/oauth/token: proxy overloaded; Proxy-Authorization: Basic <secret> (relay:<secret>)");
});

test("a token endpoint that echoes the secret in JSON, escaped as Go's json.Marshal writes it: the failure does not show it", async (t) => {
  const server = await tokenServer(t);
  const secret = 'cs-s3cret<&>"quoted"';
  const tokens = source(t, server, { clientSecret: secret });
  const body = JSON.stringify({ error: "invalid_client", client_secret: secret }).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
  server.answer({ status: 401, headers: { "content-type": "application/json" }, body });
  const error = await failure(tokens.authorization(signal));
  assert.equal(error.message, `token_url http://127.0.0.1:${server.port}/oauth/token: {"error":"invalid_client","client_secret":"<secret>"}`);
});

test("an error answer cut inside a character beyond the BMP: the quote ends before it, without half of it", async (t) => {
  const server = await tokenServer(t);
  const tokens = source(t, server);
  server.answer({ status: 503, body: `${"x".repeat(1023)}\u{1F600} and more` });
  const error = await failure(tokens.authorization(signal));
  assert.equal(error.message, `token_url http://127.0.0.1:${server.port}/oauth/token: ${"x".repeat(1023)}`);
});
