// The receivers' debuginfo pass-through over the target's full HTTP client, against real servers on
// loopback: a fake Pyroscope, an oauth2 token endpoint, a forward proxy, TLS with a test CA.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { createSecureServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Environment, TargetAuth, TargetConfig } from "@pyroscope-relay/config";
import {
  startFakeTarget,
  startForwardProxy,
  startTlsFront,
  startTokenServer,
  targetConfig,
  testPki,
  type FakeTarget,
  type TokenServer,
} from "@pyroscope-relay/testing";
import { debuginfoUpstream, DebuginfoUpstreamError, type DebuginfoRequest, type DebuginfoResponse, type DebuginfoUpstream } from "./debuginfo-upstream.js";
import { rawHeaderValues } from "./writer-harness.js";

const pki = await testPki();
const ca = await pki.authority("debuginfo-ca");

const shouldInitiateUpload = "/debuginfo.v1alpha1.DebuginfoService/ShouldInitiateUpload";
const uploadPath = (buildId: string) => `/debuginfo.v1alpha1.DebuginfoService/Upload/${buildId}`;
const clientSecret = "cs-DEBUGINFO-s3cret";
/** Pyroscope's binary answer to ShouldInitiateUpload (`should_initiate_upload: true`). */
const protoAnswer = Buffer.from([0x08, 0x01]);

function upstream(t: TestContext, url: string, overrides: Partial<TargetConfig> = {}, env: Environment = {}): DebuginfoUpstream {
  const created = debuginfoUpstream(targetConfig("pyroscope", { url, ...overrides }), { env });
  t.after(() => created.close());
  return created;
}

async function fakeTarget(t: TestContext): Promise<FakeTarget> {
  const target = await startFakeTarget();
  t.after(() => target.close());
  return target;
}

async function tokenServer(t: TestContext): Promise<TokenServer> {
  const server = await startTokenServer({ clientId: "relay", clientSecret, expiresIn: 3_600 });
  t.after(() => server.close());
  return server;
}

function oauth2(server: TokenServer): TargetAuth {
  return { kind: "oauth2", clientId: "relay", clientSecret, tokenUrl: server.url, scopes: ["debuginfo"], endpointParams: {} };
}

async function* chunks(...parts: (string | Uint8Array)[]): AsyncIterable<Uint8Array> {
  for (const part of parts) yield typeof part === "string" ? Buffer.from(part) : part;
}

/** A Connect call as the receiver passes it on: binary proto, a deadline, the client's tenant when it sent one. */
function call(path: string, tenant?: string, signal = AbortSignal.timeout(5_000)): DebuginfoRequest {
  const header = new Headers({ "content-type": "application/proto", "connect-protocol-version": "1", "connect-timeout-ms": "5000" });
  if (tenant !== undefined) header.set("x-scope-orgid", tenant);
  return { path, header, body: chunks(Buffer.from([0x0a, 0x02, 0x08, 0x01])), signal };
}

async function text(response: DebuginfoResponse): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of response.body) parts.push(part);
  return Buffer.concat(parts);
}

function pyroscopeDebuginfo(target: FakeTarget): void {
  target.respond((request) =>
    request.path.endsWith("/ShouldInitiateUpload") ? { status: 200, headers: { "content-type": "application/proto" }, body: protoAnswer } : undefined,
  );
}

test("ShouldInitiateUpload with oauth2: one token for every call, below the target's URL path, the client's tenant on", async (t) => {
  const server = await tokenServer(t);
  const target = await fakeTarget(t);
  pyroscopeDebuginfo(target);
  const up = upstream(t, `${target.url}/base/`, { auth: oauth2(server), remoteTimeoutMs: 4_000, debugInfoUploadTimeoutMs: 90_000 });
  assert.equal(up.name, "pyroscope");
  assert.equal(up.callTimeoutMs, 4_000);
  assert.equal(up.uploadTimeoutMs, 90_000);

  const answers = await Promise.all(
    [call(shouldInitiateUpload, "team-a"), call(shouldInitiateUpload), call(shouldInitiateUpload, "team-b")].map((c) => up.post(c)),
  );
  for (const answer of answers) {
    assert.equal(answer.status, 200);
    assert.equal(answer.header.get("content-type"), "application/proto");
    assert.deepEqual(await text(answer), protoAnswer);
  }
  const late = await up.post(call(shouldInitiateUpload));
  await text(late);

  assert.equal(server.requests.length, 1, "one token, fetched once, for four calls");
  assert.deepEqual(server.requests[0]?.form["scope"], "debuginfo");
  assert.equal(target.requests.length, 4);
  for (const request of target.requests) {
    assert.equal(request.path, "/base/debuginfo.v1alpha1.DebuginfoService/ShouldInitiateUpload");
    assert.equal(request.headers.authorization, "Bearer token-1");
    assert.equal(request.headers["content-type"], "application/proto");
    assert.equal(request.headers["user-agent"], "pyroscope-relay");
    assert.deepEqual(request.body, Buffer.from([0x0a, 0x02, 0x08, 0x01]));
  }
  assert.deepEqual(target.requests.map((q) => q.headers["x-scope-orgid"]).sort(), ["team-a", "team-b", undefined, undefined].sort());
});

test("oauth2: a 401 from the target is the answer, and the next call gets a new token", async (t) => {
  const server = await tokenServer(t);
  const target = await fakeTarget(t);
  target.respond((q) => (q.headers.authorization === "Bearer token-1" ? { status: 401, body: "token revoked" } : undefined));
  const up = upstream(t, target.url, { auth: oauth2(server) });
  const refused = await up.post(call(shouldInitiateUpload));
  assert.equal(refused.status, 401);
  assert.equal((await text(refused)).toString(), "token revoked");
  const next = await up.post(call(shouldInitiateUpload));
  assert.equal(next.status, 200);
  await text(next);
  assert.deepEqual(
    target.requests.map((q) => q.headers.authorization),
    ["Bearer token-1", "Bearer token-2"],
  );
});

test("oauth2: a failing token endpoint rejects with its reason, never its secret; nothing reaches the target", async (t) => {
  const server = await tokenServer(t);
  server.answer({ status: 503, body: `unavailable (client_secret=${clientSecret})` });
  const target = await fakeTarget(t);
  const up = upstream(t, target.url, { auth: oauth2(server) });
  await assert.rejects(up.post(call(shouldInitiateUpload)), (err: unknown) => {
    assert.ok(err instanceof DebuginfoUpstreamError);
    assert.equal(err.reason, "oauth2 http 503");
    assert.match(err.message, /^oauth2 http 503: token_url http:\/\/127\.0\.0\.1:\d+\/oauth\/token/);
    assert.ok(!err.message.includes(clientSecret));
    return true;
  });
  assert.equal(target.requests.length, 0);
});

test("a configured X-Scope-OrgID replaces the client's; headers, http_headers and an authorization block go along; the client's credentials do not", async (t) => {
  const target = await fakeTarget(t);
  const up = upstream(t, target.url, {
    headers: { "X-Scope-OrgID": "configured", "X-Extra": "1", "Content-Type": "application/x-configured" },
    httpHeaders: { "X-Multi": ["a", "b"] },
    auth: { kind: "authorization", type: "Token", credentials: "c" },
  });
  const request = call("/debuginfo.v1alpha1.DebuginfoService/UploadFinished", "client");
  request.header.set("authorization", "Bearer client-credentials");
  request.header.set("x-multi", "client");
  await text(await up.post(request));
  const [seen] = target.requests;
  assert.ok(seen);
  assert.deepEqual(rawHeaderValues(seen.rawHeaders, "x-scope-orgid"), ["configured"]);
  assert.deepEqual(rawHeaderValues(seen.rawHeaders, "authorization"), ["Token c"]);
  assert.deepEqual(rawHeaderValues(seen.rawHeaders, "x-multi"), ["a", "b"], "configured headers win over the client's of the same name");
  assert.deepEqual(rawHeaderValues(seen.rawHeaders, "content-type"), ["application/x-configured"]);
  assert.equal(seen.headers["x-extra"], "1");
  assert.equal(seen.headers["connect-protocol-version"], "1", "the client's other headers go along");

  // An Authorization in `headers` wins over the auth block, as for profiles.
  const own = upstream(t, target.url, { headers: { Authorization: "Custom x" }, auth: { kind: "basic", username: "u", password: "p" } });
  await text(await own.post(call(shouldInitiateUpload)));
  assert.deepEqual(rawHeaderValues(target.requests[1]!.rawHeaders, "authorization"), ["Custom x"]);
});

test("bearer_token_file: a rotated file is read again for the next call", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "debuginfo-secret-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "token");
  await writeFile(file, "old-s3cret\n");
  const target = await fakeTarget(t);
  const up = upstream(t, target.url, { auth: { kind: "bearer", token: "old-s3cret", tokenFile: file } });
  await text(await up.post(call(shouldInitiateUpload)));
  await writeFile(`${file}.new`, "new-s3cret\n");
  await rename(`${file}.new`, file);
  await text(await up.post(call(shouldInitiateUpload)));
  assert.deepEqual(
    target.requests.map((q) => q.headers.authorization),
    ["Bearer old-s3cret", "Bearer new-s3cret"],
  );

  await rm(file);
  await assert.rejects(up.post(call(shouldInitiateUpload)), /^DebuginfoUpstreamError: secret file: cannot read bearer_token_file ".*": ENOENT$/);
});

test("through a local proxy: an http target in absolute form, an https target through a CONNECT tunnel (with proxy_connect_header)", async (t) => {
  const { cert, key } = await ca.issue("secure.test", { names: ["secure.test"] });
  const server = await tokenServer(t);
  const plain = await fakeTarget(t);
  const secure = await fakeTarget(t);
  pyroscopeDebuginfo(plain);
  pyroscopeDebuginfo(secure);
  const front = await startTlsFront(Number(new URL(secure.url).port), { cert: cert.pem, key: key.pem });
  t.after(() => front.close());
  const ports: Record<string, number> = { "plain.test": Number(new URL(plain.url).port), "secure.test": front.port };
  const proxy = await startForwardProxy((host) => ports[host] ?? 1);
  t.after(() => proxy.close());
  const viaProxy: TargetConfig["proxy"] = { kind: "url", url: proxy.url, connectHeaders: { "X-Proxy-Route": ["debuginfo"] } };

  const toPlain = upstream(t, "http://plain.test:4040", { proxy: viaProxy, auth: oauth2(server) });
  const toSecure = upstream(t, "https://secure.test", {
    proxy: viaProxy,
    auth: { kind: "bearer", token: "secure-token" },
    tls: { ca: ca.cert.pem, insecureSkipVerify: false },
  });
  const answers = [await toPlain.post(call(shouldInitiateUpload, "team-p")), await toSecure.post(call(shouldInitiateUpload, "team-s"))];
  for (const answer of answers) assert.deepEqual([answer.status, await text(answer)], [200, protoAnswer]);

  assert.deepEqual(
    plain.requests.map((q) => [q.path, q.headers.authorization, q.headers["x-scope-orgid"]]),
    [[shouldInitiateUpload, "Bearer token-1", "team-p"]],
  );
  assert.deepEqual(
    secure.requests.map((q) => [q.path, q.headers.authorization, q.headers["x-scope-orgid"]]),
    [[shouldInitiateUpload, "Bearer secure-token", "team-s"]],
  );
  const seen = proxy.requests.map((q) => [q.method, q.target, q.headers["x-proxy-route"]]);
  assert.deepEqual(seen.sort(), [
    ["CONNECT", "secure.test:443", "debuginfo"],
    ["POST", `http://plain.test:4040${shouldInitiateUpload}`, undefined],
  ]);
  assert.deepEqual(
    front.sessions.map((s) => s.servername),
    ["secure.test"],
  );
});

test("an https target: checked against its CA, with the client certificate presented", async (t) => {
  const serverCert = await ca.issue("pyroscope", { names: ["127.0.0.1"] });
  const clientCert = await ca.issue("relay-client", { client: true });
  const target = await fakeTarget(t);
  const front = await startTlsFront(Number(new URL(target.url).port), {
    cert: serverCert.cert.pem,
    key: serverCert.key.pem,
    ca: ca.cert.pem,
    requestCert: true,
    rejectUnauthorized: true,
  });
  t.after(() => front.close());
  const up = upstream(t, front.url, {
    tls: { ca: ca.cert.pem, caFile: ca.cert.file, cert: clientCert.cert.pem, key: clientCert.key.pem, insecureSkipVerify: false },
  });
  const answer = await up.post({ path: uploadPath("tls"), header: new Headers(), body: chunks("elf"), signal: AbortSignal.timeout(5_000) });
  assert.equal(answer.status, 200);
  await text(answer);
  assert.deepEqual(
    target.requests.map((q) => [q.path, q.body.toString()]),
    [[uploadPath("tls"), "elf"]],
  );
  assert.equal(front.sessions[0]?.clientCommonName, "relay-client");
});

test("enable_http2: an upload to an https target that offers HTTP/2 streams over it, unless disabled", async (t) => {
  const serverCert = await ca.issue("pyroscope-h2", { names: ["127.0.0.1"] });
  const seen: { version: string; length: string | undefined; bytes: number }[] = [];
  const server = createSecureServer({ cert: serverCert.cert.pem, key: serverCert.key.pem, allowHTTP1: true }, (req, res) => {
    let bytes = 0;
    req.on("data", (chunk: Buffer) => (bytes += chunk.length));
    req.on("end", () => {
      seen.push({ version: req.httpVersion, length: req.headers["content-length"], bytes });
      res.writeHead(200).end();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tls = { ca: ca.cert.pem, insecureSkipVerify: false };
  const piece = Buffer.alloc(512 * 1024, 3);
  for (const up of [upstream(t, url, { tls }), upstream(t, url, { tls, enableHttp2: false })]) {
    const header = new Headers({ "content-length": String(piece.length * 4) });
    const answer = await up.post({ path: uploadPath("h2"), header, body: chunks(piece, piece, piece, piece), signal: AbortSignal.timeout(10_000) });
    assert.equal(answer.status, 200);
    await text(answer);
  }
  const length = String(piece.length * 4);
  assert.deepEqual(seen, [
    { version: "2.0", length, bytes: piece.length * 4 },
    { version: "1.1", length, bytes: piece.length * 4 },
  ]);
});

interface StreamingTarget {
  url: string;
  /** Resolves once the first bytes of a request's body are in. */
  firstBytes: Promise<void>;
  /** What the last request brought, once its body ended. */
  received: Promise<{ headers: IncomingHttpHeaders; bytes: number; sha256: string }>;
}

function resolvers<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A target that sees an upload's bytes as they arrive. */
async function streamingTarget(t: TestContext): Promise<StreamingTarget> {
  const first = resolvers<void>();
  const received = resolvers<{ headers: IncomingHttpHeaders; bytes: number; sha256: string }>();
  const server = createServer((req, res) => {
    const hash = createHash("sha256");
    let bytes = 0;
    req.on("data", (chunk: Buffer) => {
      if (bytes === 0) first.resolve();
      bytes += chunk.length;
      hash.update(chunk);
    });
    req.on("end", () => {
      received.resolve({ headers: req.headers, bytes, sha256: hash.digest("hex") });
      res.end();
    });
    req.on("error", () => undefined);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, firstBytes: first.promise, received: received.promise };
}

test("an upload of a few MB streams: the target has its first bytes before the rest exists, then all of it, byte for byte", async (t) => {
  const target = await streamingTarget(t);
  const up = upstream(t, target.url, { auth: { kind: "bearer", token: "tok" } });
  const piece = Buffer.alloc(256 * 1024);
  for (let i = 0; i < piece.length; i += 512) piece[i] = (i / 512) % 251;
  const pieces = 16;
  const expected = createHash("sha256");
  for (let i = 0; i < pieces; i++) expected.update(piece);
  async function* elf(): AsyncIterable<Uint8Array> {
    yield piece;
    // Were the upload held until its end, the target would never see these first bytes: no deadlock means streamed.
    await Promise.race([
      target.firstBytes,
      sleep(3_000).then(() => Promise.reject(new Error("the target saw nothing before the upload's end: held, not streamed"))),
    ]);
    for (let i = 1; i < pieces; i++) yield piece;
  }
  const header = new Headers({ "content-type": "application/octet-stream", "content-length": String(piece.length * pieces), "x-scope-orgid": "team-u" });
  const answer = await up.post({ path: uploadPath("2f5e%2F1c"), header, body: elf(), signal: AbortSignal.timeout(10_000) });
  assert.equal(answer.status, 200);
  await text(answer);
  const { headers, bytes, sha256 } = await target.received;
  assert.equal(bytes, piece.length * pieces);
  assert.equal(sha256, expected.digest("hex"));
  assert.equal(headers["content-length"], String(piece.length * pieces), "the client's length, not chunked");
  assert.equal(headers["transfer-encoding"], undefined);
  assert.equal(headers.authorization, "Bearer tok");
  assert.equal(headers["x-scope-orgid"], "team-u");
});

test("an aborted upload stops: the call rejects, the body is not read further", async (t) => {
  const target = await streamingTarget(t);
  const up = upstream(t, target.url);
  const aborter = new AbortController();
  let produced = 0;
  async function* endless(): AsyncIterable<Uint8Array> {
    for (;;) {
      produced++;
      yield Buffer.alloc(64 * 1024, 1);
      await sleep(5);
    }
  }
  const posting = up.post({ path: uploadPath("endless"), header: new Headers(), body: endless(), signal: aborter.signal });
  await target.firstBytes;
  aborter.abort(new Error("the upload took longer than 100 ms"));
  await assert.rejects(posting, /longer than 100 ms|aborted/);
  const stopped = produced;
  await sleep(100);
  assert.ok(produced <= stopped + 1, `the body stopped being read (${stopped} then ${produced})`);
});

test("a target answering 500: its status, headers and body pass through", async (t) => {
  const target = await fakeTarget(t);
  target.failNext(1, 500, { body: "disk full", headers: { "x-target": "1" } });
  const up = upstream(t, target.url);
  const answer = await up.post({ path: uploadPath("abc"), header: new Headers(), body: chunks(Buffer.alloc(1000, 1)), signal: AbortSignal.timeout(5_000) });
  assert.equal(answer.status, 500);
  assert.equal(answer.header.get("x-target"), "1");
  assert.equal((await text(answer)).toString(), "disk full");
  assert.equal(target.requests[0]?.body.length, 1000);
});

test("redirects: a 307 is the answer (its streamed body cannot go again); a 303 is followed as a GET", async (t) => {
  const target = await fakeTarget(t);
  target.respond((q) => {
    if (q.path === "/temporary/ShouldInitiateUpload") return { status: 307, headers: { location: "/moved/ShouldInitiateUpload" } };
    if (q.path === "/see-other/UploadFinished") return { status: 303, headers: { location: "/done" } };
    return undefined;
  });
  const up = upstream(t, target.url);
  const temporary = await up.post(call("/temporary/ShouldInitiateUpload"));
  assert.equal(temporary.status, 307);
  await text(temporary);
  const seeOther = await up.post(call("/see-other/UploadFinished"));
  assert.equal(seeOther.status, 200);
  await text(seeOther);
  assert.deepEqual(
    target.requests.map((q) => [q.method, q.path]),
    [
      ["POST", "/temporary/ShouldInitiateUpload"],
      ["POST", "/see-other/UploadFinished"],
      ["GET", "/done"],
    ],
  );
});

test("an unreachable target rejects", async (t) => {
  const up = upstream(t, "http://127.0.0.1:1");
  await assert.rejects(up.post(call(shouldInitiateUpload)), (err: unknown) => {
    assert.match(String((err as { code?: string }).code ?? (err as Error).message), /ECONNREFUSED/);
    return true;
  });
  await assert.rejects(up.post({ path: uploadPath("abc"), header: new Headers(), body: chunks("elf"), signal: AbortSignal.timeout(5_000) }));
});
