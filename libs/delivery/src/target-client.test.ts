// The endpoint's HTTP client settings against real servers on loopback: TLS (a CA made with openssl),
// HTTP/2, redirects, headers, proxies. No queue: each test sends requests with a TargetClient.
import assert from "node:assert/strict";
import { once } from "node:events";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { createSecureServer, type Http2ServerRequest } from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import type { Environment, TargetConfig } from "@pyroscope-relay/config";
import { startFakeTarget, startForwardProxy, startTlsFront, targetConfig, testPki, type FakeTarget, type ForwardProxy } from "@pyroscope-relay/testing";
import { attempt } from "./attempt.js";
import { ingestRequest } from "./ingest-request.js";
import { classifyError } from "./retry-policy.js";
import { connectTimeoutHeader, RELAY_USER_AGENT, TargetClient, type TargetRequest } from "./target-client.js";
import { rawHeaderValues } from "./writer-harness.js";

const pki = await testPki();
const ca = await pki.authority("target-ca");
const serverCert = await ca.issue("pyroscope", { names: ["127.0.0.1", "localhost", "pyroscope.test"] });
const clientCert = await ca.issue("relay-client", { client: true });
const signal = new AbortController().signal;

function request(body = "profile"): TargetRequest {
  return { path: "/ingest", query: "name=app", headers: ["Content-Type", "application/octet-stream"], body: Buffer.from(body), tenant: undefined };
}

function client(t: TestContext, url: string, overrides: Partial<TargetConfig> = {}, env: Environment = {}): TargetClient {
  const created = new TargetClient(targetConfig("t", { url, ...overrides }), { env });
  t.after(() => created.close());
  return created;
}

async function fakeTarget(t: TestContext): Promise<FakeTarget> {
  const target = await startFakeTarget();
  t.after(() => target.close());
  return target;
}

/** A fake target behind TLS with the test CA's server certificate (mutual TLS when `clientCa` is given). */
async function httpsTarget(t: TestContext, options: { clientCa?: string; maxVersion?: "TLSv1.2" } = {}) {
  const target = await fakeTarget(t);
  const front = await startTlsFront(Number(new URL(target.url).port), {
    cert: serverCert.cert.pem,
    key: serverCert.key.pem,
    ...(options.clientCa ? { ca: options.clientCa, requestCert: true, rejectUnauthorized: false } : {}),
    ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
  });
  t.after(() => front.close());
  return { target, front };
}

async function proxyTo(t: TestContext, port: number): Promise<ForwardProxy> {
  const proxy = await startForwardProxy(() => port);
  t.after(() => proxy.close());
  return proxy;
}

async function sendError(sending: Promise<unknown>): Promise<string> {
  const error = await sending.then(
    () => assert.fail("expected the request to fail"),
    (e: unknown) => e,
  );
  return classifyError(error).reason;
}

test("tls_config: the target checked against ca_pem or ca_file, a client certificate presented, or no check at all", async (t) => {
  const { target, front } = await httpsTarget(t, { clientCa: ca.cert.pem });
  const mutual = { ca: ca.cert.pem, cert: clientCert.cert.pem, key: clientCert.key.pem, insecureSkipVerify: false };
  assert.equal((await client(t, front.url, { tls: mutual }).send(request(), signal)).status, 200);
  assert.equal(front.sessions.at(-1)?.clientCommonName, "relay-client");

  const fromFile = { ca: ca.cert.pem, caFile: ca.cert.file, insecureSkipVerify: false };
  assert.equal((await client(t, front.url, { tls: fromFile }).send(request(), signal)).status, 200);
  assert.equal(front.sessions.at(-1)?.clientCommonName, undefined);

  // The front sends its CA along (it trusts it for client certificates): still not trusted without ca_*.
  assert.equal(await sendError(client(t, front.url).send(request(), signal)), "network SELF_SIGNED_CERT_IN_CHAIN");
  assert.equal((await client(t, front.url, { tls: { insecureSkipVerify: true } }).send(request(), signal)).status, 200);
  assert.equal(target.requests.length, 3);
});

test("tls_config server_name: sent as SNI and the name the certificate must carry", async (t) => {
  const { front } = await httpsTarget(t);
  const named = (serverName: string) => client(t, front.url, { tls: { ca: ca.cert.pem, serverName, insecureSkipVerify: false } });
  assert.equal((await named("pyroscope.test").send(request(), signal)).status, 200);
  assert.equal(front.sessions.at(-1)?.servername, "pyroscope.test");
  assert.equal(await sendError(named("other.test").send(request(), signal)), "network ERR_TLS_CERT_ALTNAME_INVALID");
});

test("tls_config min_version: a server that cannot speak it is refused", async (t) => {
  const { front } = await httpsTarget(t, { maxVersion: "TLSv1.2" });
  const tls = { ca: ca.cert.pem, insecureSkipVerify: false };
  assert.equal((await client(t, front.url, { tls: { ...tls, minVersion: "TLS12" } }).send(request(), signal)).status, 200);
  assert.equal(front.sessions.at(-1)?.protocol, "TLSv1.2");
  assert.match(await sendError(client(t, front.url, { tls: { ...tls, minVersion: "TLS13" } }).send(request(), signal)), /^network ERR_SSL_/);
  assert.equal(front.sessions.length, 1, "no session below the minimum version");
});

test("tls_config files are read again when they change: a rotated CA, a renewed client certificate", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "tls-rotation-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const files = { ca: join(dir, "ca.pem"), cert: join(dir, "client.pem"), key: join(dir, "client.key") };
  await copyFile(ca.cert.file, files.ca);
  await copyFile(clientCert.cert.file, files.cert);
  await copyFile(clientCert.key.file, files.key);
  const newCa = await pki.authority("rotated-ca");
  const { target, front } = await httpsTarget(t, { clientCa: `${ca.cert.pem}${newCa.cert.pem}` });
  const relay = client(t, front.url, {
    tls: {
      ca: ca.cert.pem,
      caFile: files.ca,
      cert: clientCert.cert.pem,
      certFile: files.cert,
      key: clientCert.key.pem,
      keyFile: files.key,
      insecureSkipVerify: false,
    },
  });
  assert.equal((await relay.send(request(), signal)).status, 200);
  assert.equal(front.sessions.at(-1)?.clientCommonName, "relay-client");

  // The server moves to a certificate of a new CA (dropping its connections), the relay's CA file follows.
  const reissued = await newCa.issue("pyroscope", { names: ["127.0.0.1"] });
  front.setCertificate(reissued.cert.pem, reissued.key.pem);
  await copyFile(newCa.cert.file, files.ca);
  // And the relay's client certificate is renewed.
  const renewed = await newCa.issue("relay-client-renewed", { client: true });
  await copyFile(renewed.cert.file, files.cert);
  await copyFile(renewed.key.file, files.key);

  assert.equal((await relay.send(request(), signal)).status, 200);
  assert.equal(front.sessions.at(-1)?.clientCommonName, "relay-client-renewed");
  assert.equal(target.requests.length, 2);
});

/** An HTTPS target offering HTTP/2 (and HTTP/1.1) that answers 200 once it has read a request `seen` was told of; its URL. */
async function http2Target(t: TestContext, seen: (req: Http2ServerRequest) => void): Promise<string> {
  const server = createSecureServer({ cert: serverCert.cert.pem, key: serverCert.key.pem, allowHTTP1: true }, (req, res) => {
    seen(req);
    req.resume();
    req.on("end", () => res.writeHead(200).end());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test("enable_http2: HTTP/2 with an https target that offers it, unless disabled", async (t) => {
  const versions: string[] = [];
  const url = await http2Target(t, (req) => versions.push(req.httpVersion));
  const tls = { ca: ca.cert.pem, insecureSkipVerify: false };

  assert.equal((await client(t, url, { tls }).send(request(), signal)).status, 200);
  assert.equal((await client(t, url, { tls, enableHttp2: false }).send(request(), signal)).status, 200);
  assert.deepEqual(versions, ["2.0", "1.1"]);
});

test("an /ingest profile with several Content-Type values reaches an HTTP/2 target with the first, as one value Pyroscope can parse", async (t) => {
  const seen: (string | undefined)[] = [];
  const url = await http2Target(t, (req) => seen.push(req.headers["content-type"]));
  const ref = {
    kind: "ingest" as const,
    index: 0,
    offset: 0,
    size: 7,
    receivedAt: Date.now(),
    query: "name=app",
    contentTypes: ["multipart/form-data; boundary=b0undary", "application/x-extra"],
  };
  const built = ingestRequest((query) => query, ref, Buffer.from("profile"));
  assert.ok(!("reason" in built) && !("droppedBy" in built));
  assert.equal((await client(t, url, { tls: { ca: ca.cert.pem, insecureSkipVerify: false } }).send(built, signal)).status, 200);
  assert.deepEqual(seen, ["multipart/form-data; boundary=b0undary"], "not the two joined with a comma");
});

test("follow_redirects: followed by default, with the body, credentials only to the same origin; or not at all", async (t) => {
  const target = await fakeTarget(t);
  const other = await fakeTarget(t);
  const otherUrl = other.url.replace("127.0.0.1", "localhost");
  target.respond((r) => {
    if (r.path === "/old/ingest") return { status: 307, headers: { location: `/new/ingest?${r.query}` } };
    if (r.path === "/away/ingest") return { status: 308, headers: { location: `${otherUrl}/ingest` } };
    return undefined;
  });
  const auth = { kind: "bearer", token: "tok-REDIRECT-s3cret" } as const;

  assert.equal((await client(t, `${target.url}/old`, { auth }).send(request("same origin"), signal)).status, 200);
  const followed = target.requests.at(-1)!;
  assert.equal(followed.path, "/new/ingest");
  assert.equal(followed.query, "name=app");
  assert.equal(followed.body.toString(), "same origin");
  assert.deepEqual(rawHeaderValues(followed.rawHeaders, "authorization"), ["Bearer tok-REDIRECT-s3cret"]);

  assert.equal((await client(t, `${target.url}/away`, { auth }).send(request("other origin"), signal)).status, 200);
  const elsewhere = other.requests.at(-1)!;
  assert.equal(elsewhere.body.toString(), "other origin");
  assert.deepEqual(rawHeaderValues(elsewhere.rawHeaders, "authorization"), [], "no credentials to another host");

  const before = target.requests.length;
  assert.equal((await client(t, `${target.url}/old`, { followRedirects: false }).send(request(), signal)).status, 307);
  assert.equal(target.requests.length, before + 1);
});

test("follow_redirects: at most 10 redirects are followed, then the 3xx is the answer; a 302 turns the POST into a GET", async (t) => {
  const target = await fakeTarget(t);
  target.respond((r) => {
    const hop = /^\/hop(\d+)\//.exec(r.path);
    if (hop !== null) return { status: 308, headers: { location: `/hop${Number(hop[1]) + 1}/ingest` } };
    if (r.path === "/found/ingest") return { status: 302, headers: { location: "/landing" } };
    return undefined;
  });

  const before = target.requests.length;
  assert.equal((await client(t, `${target.url}/hop0`).send(request("looping"), signal)).status, 308);
  const hops = target.requests.slice(before);
  assert.equal(hops.length, 11, "the first request and 10 redirects");
  assert.equal(hops.at(-1)!.path, "/hop10/ingest");
  assert.ok(hops.every((r) => r.body.toString() === "looping"));

  assert.equal((await client(t, `${target.url}/found`).send(request(), signal)).status, 200);
  const landed = target.requests.at(-1)!;
  assert.deepEqual([landed.method, landed.path, landed.body.length], ["GET", "/landing", 0]);
});

test("headers, then every http_headers value; an http_headers tenant is the endpoint's tenant", async (t) => {
  const target = await fakeTarget(t);
  const relay = client(t, target.url, {
    headers: { "X-Team": "profiling" },
    httpHeaders: { "X-Team": ["a", "b"], "X-Scope-OrgID": ["tenant-from-http-headers"] },
  });
  await relay.send({ ...request(), tenant: "client-tenant" }, signal);
  const sent = target.requests[0]!;
  assert.deepEqual(rawHeaderValues(sent.rawHeaders, "x-team"), ["profiling", "a", "b"]);
  assert.deepEqual(rawHeaderValues(sent.rawHeaders, "x-scope-orgid"), ["tenant-from-http-headers"]);
});

test("the request's own headers win over the endpoint's, as in Alloy; a configured one goes where the request has none", async (t) => {
  const target = await fakeTarget(t);
  const relay = client(t, target.url, { headers: { "content-type": "application/x-configured", "User-Agent": "team-agent" } });
  // /ingest: the profile's Content-Type wins; the configured User-Agent goes out (Alloy's plain HTTP client has none).
  await relay.send(request(), signal);
  assert.deepEqual(rawHeaderValues(target.requests[0]!.rawHeaders, "content-type"), ["application/octet-stream"]);
  assert.deepEqual(rawHeaderValues(target.requests[0]!.rawHeaders, "user-agent"), ["team-agent"]);
  // A profile sent without a Content-Type gets the configured one.
  await relay.send({ ...request(), headers: [] }, signal);
  assert.deepEqual(rawHeaderValues(target.requests[1]!.rawHeaders, "content-type"), ["application/x-configured"]);
  // A Push, as connect-go sends it: its Content-Type and the relay's User-Agent.
  await relay.send({ ...request(), path: "/push.v1.PusherService/Push", headers: ["Content-Type", "application/proto", ...RELAY_USER_AGENT] }, signal);
  assert.deepEqual(rawHeaderValues(target.requests[2]!.rawHeaders, "content-type"), ["application/proto"]);
  assert.deepEqual(rawHeaderValues(target.requests[2]!.rawHeaders, "user-agent"), ["pyroscope-relay"]);
  // Nothing configured: the relay's User-Agent.
  await client(t, target.url).send(request(), signal);
  assert.deepEqual(rawHeaderValues(target.requests[3]!.rawHeaders, "user-agent"), ["pyroscope-relay"]);
});

test("a Push answered 200 by something other than a Connect server (a login page after a redirect) is retried, never delivered", async (t) => {
  const target = await fakeTarget(t);
  target.respond((r) => {
    if (r.path === "/sso/push.v1.PusherService/Push") return { status: 302, headers: { location: "/login" } };
    if (r.path === "/login") return { status: 200, headers: { "content-type": "text/html" }, body: "<html>sign in</html>" };
    return undefined;
  });
  const push: TargetRequest = {
    path: "/push.v1.PusherService/Push",
    headers: ["Content-Type", "application/proto"],
    body: Buffer.from("series"),
    tenant: undefined,
  };
  const result = await attempt(client(t, `${target.url}/sso`), "push", push, true, signal);
  assert.equal(result.kind, "retry");
  assert.deepEqual(result.kind === "retry" && result.failure, {
    reason: "connect internal",
    status: 200,
    detail: 'a 200 with Content-Type "text/html", not application/proto: not a Connect answer',
  });
  assert.deepEqual(await attempt(client(t, target.url), "push", push, true, signal), { kind: "delivered" }, "a Connect server's 200");
});

test("auth: authorization is `<type> <credentials>`; an Authorization in headers wins over the auth block", async (t) => {
  const target = await fakeTarget(t);
  await client(t, target.url, { auth: { kind: "authorization", type: "Token", credentials: "c-s3cret" } }).send(request(), signal);
  await client(t, target.url, { headers: { authorization: "Custom x" }, auth: { kind: "bearer", token: "ignored" } }).send(request(), signal);
  assert.deepEqual(rawHeaderValues(target.requests[0]!.rawHeaders, "authorization"), ["Token c-s3cret"]);
  assert.deepEqual(rawHeaderValues(target.requests[1]!.rawHeaders, "authorization"), ["Custom x"]);
});

test("proxy_url with an http target: the request goes to the proxy in absolute form, with the proxy URL's credentials", async (t) => {
  const target = await fakeTarget(t);
  const proxy = await proxyTo(t, Number(new URL(target.url).port));
  const proxyUrl = proxy.url.replace("http://", "http://relay:px-s3cret@");
  const relay = client(t, "http://pyroscope.test:4040/base", {
    auth: { kind: "bearer", token: "target-token" },
    proxy: { kind: "url", url: proxyUrl, connectHeaders: { "X-Proxy-Tenant": ["t1"] } },
  });
  assert.equal((await relay.send(request("via the proxy"), signal)).status, 200);

  const [proxied] = proxy.requests;
  assert.equal(proxied?.method, "POST");
  assert.equal(proxied?.target, "http://pyroscope.test:4040/base/ingest?name=app");
  assert.equal(proxied?.headers["proxy-authorization"], `Basic ${Buffer.from("relay:px-s3cret").toString("base64")}`);
  assert.equal(proxied?.headers["x-proxy-tenant"], undefined, "proxy_connect_header goes on CONNECT only");
  const [received] = target.requests;
  assert.equal(received?.headers.host, "pyroscope.test:4040");
  assert.equal(received?.body.toString(), "via the proxy");
  assert.equal(received?.headers.authorization, "Bearer target-token");
});

test("proxy_url credentials with escapes of bytes that are not UTF-8 go out as those bytes, as Go sends them", async (t) => {
  const target = await fakeTarget(t);
  const proxy = await proxyTo(t, Number(new URL(target.url).port));
  const relay = client(t, "http://pyroscope.test", { proxy: { kind: "url", url: proxy.url.replace("http://", "http://r%E9lay:p%FF%c3@") } });
  assert.equal((await relay.send(request(), signal)).status, 200);
  const bytes = Buffer.from([...Buffer.from("r"), 0xe9, ...Buffer.from("lay:p"), 0xff, 0xc3]);
  assert.equal(proxy.requests[0]?.headers["proxy-authorization"], `Basic ${bytes.toString("base64")}`);
});

test("proxy_url with an https target: a CONNECT tunnel with proxy_connect_header, TLS to the target inside it", async (t) => {
  const { target, front } = await httpsTarget(t);
  const proxy = await proxyTo(t, front.port);
  const relay = client(t, "https://pyroscope.test", {
    auth: { kind: "bearer", token: "tok-TUNNEL-s3cret" },
    tls: { ca: ca.cert.pem, insecureSkipVerify: false },
    proxy: {
      kind: "url",
      url: proxy.url.replace("http://", "http://relay:px@"),
      connectHeaders: { "X-Proxy-Tenant": ["t1", "t2"], "Proxy-Authorization": ["replaced"] },
    },
  });
  assert.equal((await relay.send(request("through the tunnel"), signal)).status, 200);
  assert.equal((await relay.send(request("same tunnel"), signal)).status, 200);

  assert.ok(
    proxy.requests.every((r) => r.method === "CONNECT"),
    "every request went through a tunnel",
  );
  const [connect] = proxy.requests;
  assert.equal(connect?.method, "CONNECT");
  assert.equal(connect?.target, "pyroscope.test:443");
  assert.equal(connect?.headers["x-proxy-tenant"], "t1, t2");
  assert.equal(connect?.headers["proxy-authorization"], `Basic ${Buffer.from("relay:px").toString("base64")}`);
  assert.equal(connect?.headers.authorization, undefined, "the proxy never sees the target's credentials");
  assert.equal(front.sessions[0]?.servername, "pyroscope.test");
  assert.deepEqual(
    target.requests.map((r) => [r.body.toString(), r.headers.authorization]),
    [
      ["through the tunnel", "Bearer tok-TUNNEL-s3cret"],
      ["same tunnel", "Bearer tok-TUNNEL-s3cret"],
    ],
  );
});

test("no_proxy and loopback targets go straight to the target; other hosts through the proxy", async (t) => {
  const target = await fakeTarget(t);
  const proxy = await proxyTo(t, Number(new URL(target.url).port));
  const settings = { proxy: { kind: "url", url: proxy.url, noProxy: "internal.test" } } as const;
  await client(t, target.url, settings).send(request("direct"), signal);
  assert.equal(proxy.requests.length, 0);
  await client(t, "http://pyroscope.test", settings).send(request("proxied"), signal);
  assert.deepEqual(
    proxy.requests.map((r) => r.target),
    ["http://pyroscope.test/ingest?name=app"],
  );
  assert.deepEqual(
    target.requests.map((r) => r.body.toString()),
    ["direct", "proxied"],
  );
});

test("proxy_from_environment: HTTPS_PROXY and NO_PROXY of the writer's environment", async (t) => {
  const { target, front } = await httpsTarget(t);
  const proxy = await proxyTo(t, front.port);
  const env = { HTTPS_PROXY: proxy.url, HTTP_PROXY: "http://127.0.0.1:1", NO_PROXY: "direct.test" };
  const relay = client(t, "https://pyroscope.test", { tls: { ca: ca.cert.pem, insecureSkipVerify: false }, proxy: { kind: "environment" } }, env);
  assert.equal((await relay.send(request(), signal)).status, 200);
  assert.deepEqual(
    proxy.requests.map((r) => [r.method, r.target]),
    [["CONNECT", "pyroscope.test:443"]],
  );
  assert.equal(target.requests.length, 1);
});

test("proxy_from_environment: a proxy whose credentials hold a malformed %-escape fails as `proxy credentials`, retried, without showing them", async (t) => {
  const proxy = await proxyTo(t, 1);
  const malformed = proxy.url.replace("http://", "http://relay:p%ss-s3cret@");
  const env = { HTTPS_PROXY: malformed, HTTP_PROXY: malformed };
  for (const url of ["https://pyroscope.test", "http://pyroscope.test"]) {
    const result = await attempt(client(t, url, { proxy: { kind: "environment" } }, env), "ingest", request(), true, signal);
    assert.deepEqual(
      result,
      {
        kind: "retry",
        failure: {
          reason: "proxy credentials",
          detail: `proxy ${proxy.url} (HTTP_PROXY or HTTPS_PROXY): its credentials hold a malformed %-escape (write % as %25)`,
        },
        unreachable: false,
      },
      url,
    );
  }
  assert.equal(proxy.requests.length, 0);
});

test("a proxy refusing the tunnel: retried as `proxy http 407`, naming the proxy without its credentials", async (t) => {
  const proxy = await proxyTo(t, 1);
  proxy.refuse(407);
  const relay = client(t, "https://pyroscope.test", { proxy: { kind: "url", url: proxy.url.replace("http://", "http://relay:px-s3cret@") } });
  const result = await attempt(relay, "ingest", request(), true, signal);
  assert.deepEqual(result, {
    kind: "retry",
    failure: { reason: "proxy http 407", detail: `CONNECT pyroscope.test:443 via ${proxy.url}: proxy answered 407` },
    unreachable: false,
  });
});

test("Connect-Timeout-Ms as connect-go writes it: whole milliseconds of at most 10 digits, else none", () => {
  assert.deepEqual(connectTimeoutHeader(10_000), ["Connect-Timeout-Ms", "10000"]);
  assert.deepEqual(connectTimeoutHeader(1.5), ["Connect-Timeout-Ms", "1"]);
  assert.deepEqual(connectTimeoutHeader(0.5), []);
  assert.deepEqual(connectTimeoutHeader(0), []);
  assert.deepEqual(connectTimeoutHeader(8_760 * 3_600_000 * 1_000), []);
  assert.deepEqual(connectTimeoutHeader(9_999_999_999), ["Connect-Timeout-Ms", "9999999999"]);
});
