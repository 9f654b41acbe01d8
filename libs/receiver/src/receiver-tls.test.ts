import assert from "node:assert/strict";
import { request as httpsRequest } from "node:https";
import { connect as http2Connect } from "node:http2";
import type { SecureVersion } from "node:tls";
import { connect as tlsConnect } from "node:tls";
import { connect as netConnect } from "node:net";
import { after, describe, test } from "node:test";
import type { TestContext } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { ClientAuthType, ReceiverTls } from "@pyroscope-relay/config";
import { createLogger } from "@pyroscope-relay/ops";
import { PusherService, PushRequestSchema } from "@pyroscope-relay/proto";
import { gzippedPprof, startRedisServer, testPki, type Issued } from "@pyroscope-relay/testing";
import { adminConnection, startTestReceiver, within } from "./test-harness.js";
import type { TestReceiver } from "./test-harness.js";

const redis = await startRedisServer();
const admin = await adminConnection(redis);
after(async () => {
  admin.disconnect();
  await redis.stop();
});

const certificates = await testPki();
const ca = await certificates.authority("ca");
/**
 * A CA, a server certificate it signed for 127.0.0.1, ::1 and localhost, a client certificate it
 * signed, and a self-signed stranger.
 */
const pki = {
  ca,
  server: await ca.issue("server", { names: ["127.0.0.1", "::1", "localhost"] }),
  client: await ca.issue("client", { client: true }),
  stranger: await certificates.authority("stranger"),
};
const ingestPath = "/ingest?name=checkout%7Benv%3Dprod%7D&format=pprof";

interface ClientTls {
  ca?: string;
  identity?: Issued;
  maxVersion?: SecureVersion;
}

/** One HTTPS/1.1 POST /ingest on a connection of its own; rejects when TLS refuses the client. */
function ingestOverTls(url: string, tls: ClientTls): Promise<{ status: number; alpn: string | false | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${url}${ingestPath}`,
      {
        method: "POST",
        agent: false,
        ca: tls.ca ?? pki.ca.cert.pem,
        ...(tls.identity ? { cert: tls.identity.cert.pem, key: tls.identity.key.pem } : {}),
        ...(tls.maxVersion ? { maxVersion: tls.maxVersion } : {}),
        headers: { "content-type": "application/octet-stream" },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, alpn: (res.socket as { alpnProtocol?: string | false }).alpnProtocol }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(gzippedPprof());
  });
}

async function tlsReceiver(t: TestContext, tls: Partial<ReceiverTls> & { clientAuth?: ClientAuthType }, lines?: string[]): Promise<TestReceiver> {
  const logger = lines === undefined ? undefined : createLogger({ level: "debug", destination: { write: (line: string) => lines.push(line) } });
  return startTestReceiver(t, redis, admin, {
    config: { tls: { cert: pki.server.cert.pem, key: pki.server.key.pem, clientAuth: "NoClientCert", ...tls } },
    ...(logger === undefined ? {} : { logger }),
  });
}

describe("http > tls: HTTPS", () => {
  test("a client trusting the CA is served over HTTP/1.1, and over HTTP/2 by ALPN; the url says https", async (t) => {
    const r = await tlsReceiver(t, {});
    assert.match(r.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const http1 = await ingestOverTls(r.url, {});
    assert.deepEqual(http1, { status: 200, alpn: false });

    // HTTP/2 is offered by ALPN whether or not http2 is enabled, as Go's TLS server does.
    const session = http2Connect(r.url, { ca: pki.ca.cert.pem });
    t.after(() => session.close());
    const status = await new Promise<number>((resolve, reject) => {
      const stream = session.request({ ":method": "POST", ":path": ingestPath, "content-type": "application/octet-stream" });
      stream.on("response", (headers) => resolve(Number(headers[":status"])));
      stream.on("error", reject);
      stream.end(gzippedPprof({ seed: 2 }));
    });
    assert.equal(status, 200);
    assert.equal(session.alpnProtocol, "h2");
    assert.equal((await r.payloads()).length, 2);
  });

  test("Push over gRPC on TLS (HTTP/2 by ALPN)", async (t) => {
    const r = await tlsReceiver(t, {});
    const transport = createGrpcTransport({ baseUrl: r.url, nodeOptions: { ca: pki.ca.cert.pem } });
    const request = {
      series: [
        {
          labels: [
            { name: "__name__", value: "process_cpu" },
            { name: "service_name", value: "grpc-tls" },
          ],
          samples: [{ rawProfile: gzippedPprof({ seed: 3 }), ID: "" }],
        },
      ],
    };
    await createClient(PusherService, transport).push(request);
    const [stored] = await r.payloads();
    assert.ok(stored);
    assert.equal(fromBinary(PushRequestSchema, stored.bytes).series[0]?.labels[1]?.value, "grpc-tls");
  });

  test("a client that does not trust the certificate fails the handshake; nothing is stored", async (t) => {
    const r = await tlsReceiver(t, {});
    await assert.rejects(ingestOverTls(r.url, { ca: pki.stranger.cert.pem }), /self-signed|unable to verify|certificate/i);
    assert.deepEqual(await r.keys(), []);
  });

  test("plain HTTP on the TLS port is not served", async (t) => {
    const r = await tlsReceiver(t, {});
    const res = await fetch(r.url.replace("https:", "http:") + ingestPath, { method: "POST", body: gzippedPprof() }).then(
      (response) => response.status,
      (err: unknown) => err,
    );
    assert.ok(res instanceof Error, `expected a failure, got ${String(res)}`);
    assert.deepEqual(await r.keys(), []);
  });
});

test("closing: a connection still in its TLS handshake is closed at once; one past it finishes its request", async (t) => {
  const r = await tlsReceiver(t, {});
  const { port } = new URL(r.url);
  const silent = netConnect(Number(port), "127.0.0.1");
  silent.on("error", () => undefined);
  const served = tlsConnect({ port: Number(port), host: "127.0.0.1", servername: "localhost", ca: pki.ca.cert.pem, ALPNProtocols: ["http/1.1"] });
  served.on("error", () => undefined);
  t.after(() => {
    silent.destroy();
    served.destroy();
  });
  await new Promise((resolve) => served.once("secureConnect", resolve));
  const body = gzippedPprof();
  served.write(`POST ${ingestPath} HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${body.length}\r\n\r\n`);
  served.write(body.subarray(0, 10));
  let answer = "";
  served.on("data", (chunk: Buffer) => (answer += chunk.toString("latin1")));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = performance.now();
  const closing = r.receiver.close();
  await within(new Promise((resolve) => silent.once("close", resolve)), 1_000, "the silent connection to be closed");
  served.write(body.subarray(10));
  await within(closing, 3_000, "close to resolve");
  await within(new Promise((resolve) => served.once("close", resolve)), 1_000, "the served connection to end after its answer");
  assert.match(answer, /^HTTP\/1\.1 200 /);
  assert.ok(performance.now() - started < 3_000);
  assert.equal((await r.payloads()).length, 1);
});

describe("http > tls: client certificates (client_auth_type)", () => {
  const cases: { clientAuth: ClientAuthType; none: boolean; trusted: boolean; stranger: boolean }[] = [
    { clientAuth: "RequireAndVerifyClientCert", none: false, trusted: true, stranger: false },
    { clientAuth: "VerifyClientCertIfGiven", none: true, trusted: true, stranger: false },
    { clientAuth: "RequireAnyClientCert", none: false, trusted: true, stranger: true },
    { clientAuth: "RequestClientCert", none: true, trusted: true, stranger: true },
    { clientAuth: "NoClientCert", none: true, trusted: true, stranger: true },
  ];
  for (const { clientAuth, none, trusted, stranger } of cases) {
    test(`${clientAuth}: without a certificate ${none ? "served" : "refused"}, with the CA's ${trusted ? "served" : "refused"}, with a stranger's ${stranger ? "served" : "refused"}`, async (t) => {
      const r = await tlsReceiver(t, { clientAuth, clientCa: pki.ca.cert.pem });
      const outcome = (tls: ClientTls) =>
        ingestOverTls(r.url, tls).then(
          (res) => res.status === 200,
          () => false,
        );
      assert.equal(await outcome({}), none, "without a certificate");
      assert.equal(await outcome({ identity: pki.client }), trusted, "with the CA's client certificate");
      assert.equal(await outcome({ identity: pki.stranger }), stranger, "with a self-signed client certificate");
      const expected = [none, trusted, stranger].filter(Boolean).length;
      assert.equal((await r.payloads()).length, expected, "only what was served is stored");
    });
  }

  test("RequireAndVerifyClientCert refuses an HTTP/2 client without a certificate too", async (t) => {
    const r = await tlsReceiver(t, { clientAuth: "RequireAndVerifyClientCert", clientCa: pki.ca.cert.pem });
    const session = http2Connect(r.url, { ca: pki.ca.cert.pem });
    session.on("error", () => undefined);
    const stream = session.request({ ":method": "POST", ":path": ingestPath });
    const failed = await within(
      new Promise<boolean>((resolve) => {
        stream.on("response", () => resolve(false));
        stream.on("error", () => resolve(true));
        stream.on("close", () => resolve(true));
        stream.end(gzippedPprof());
      }),
      5_000,
      "the stream to fail",
    );
    session.destroy();
    assert.equal(failed, true);
    assert.deepEqual(await r.keys(), []);
  });
});

describe("http > tls: versions and cipher suites", () => {
  test("min_version TLS 1.3: a TLS 1.2 client is refused, a TLS 1.3 client served", async (t) => {
    const r = await tlsReceiver(t, { minVersion: "TLSv1.3" });
    await assert.rejects(ingestOverTls(r.url, { maxVersion: "TLSv1.2" }));
    assert.equal((await ingestOverTls(r.url, {})).status, 200);
  });

  test("cipher suites restrict TLS 1.2 to the ones named", async (t) => {
    const r = await tlsReceiver(t, { ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384" });
    const { port } = new URL(r.url);
    const negotiated = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: "127.0.0.1", port: Number(port), ca: pki.ca.cert.pem, maxVersion: "TLSv1.2" }, () => {
        resolve(socket.getCipher().name);
        socket.destroy();
      });
      socket.on("error", reject);
    });
    assert.equal(negotiated, "ECDHE-ECDSA-AES256-GCM-SHA384");
    const refused = new Promise<void>((resolve, reject) => {
      const socket = tlsConnect(
        { host: "127.0.0.1", port: Number(port), ca: pki.ca.cert.pem, maxVersion: "TLSv1.2", ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256" },
        () => {
          socket.destroy();
          reject(new Error("a suite outside the list was negotiated"));
        },
      );
      socket.on("error", () => resolve());
    });
    await refused;
  });
});

test("the private key never reaches the log, whatever fails", async (t) => {
  const lines: string[] = [];
  const r = await tlsReceiver(t, { clientAuth: "RequireAndVerifyClientCert", clientCa: pki.ca.cert.pem }, lines);
  await ingestOverTls(r.url, {}).catch(() => undefined);
  await ingestOverTls(r.url, { identity: pki.stranger }).catch(() => undefined);
  await ingestOverTls(r.url, { ca: pki.stranger.cert.pem }).catch(() => undefined);
  assert.equal((await ingestOverTls(r.url, { identity: pki.client })).status, 200);
  await r.receiver.close();
  const log = lines.join("");
  assert.match(log, /TLS handshake failed/, "the failures are logged");
  const keyBody = pki.server.key.pem.split("\n").filter((line) => line !== "" && !line.startsWith("-----"));
  for (const line of keyBody) assert.ok(!log.includes(line), "no line of the key's PEM");
  assert.ok(!log.includes("PRIVATE KEY"));
});
