import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { request, type RequestOptions } from "node:https";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import type { ConnectionOptions } from "node:tls";
import { pollUntil } from "./poll-until.js";
import { testPki } from "./pki.js";
import { startTlsFront } from "./tls-front.js";

// Answers once the request's body has ended, so that a request left open stays unanswered.
const upstream = createServer((req, res) => {
  req.resume();
  req.on("end", () => res.end(`plain ${req.method} ${req.url}`));
});
upstream.listen(0, "127.0.0.1");
await once(upstream, "listening");
after(() => upstream.close());
const upstreamPort = (upstream.address() as AddressInfo).port;

const pki = await testPki();
const ca = await pki.authority("front-ca");
const server = await ca.issue("front", { names: ["localhost", "127.0.0.1"] });
const client = await ca.issue("agent", { client: true });

function get(url: string, options: RequestOptions & Pick<ConnectionOptions, "ALPNProtocols">): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, ...options }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("terminates TLS and pipes to the plain server, recording the session", async () => {
  const front = await startTlsFront(upstreamPort, { cert: server.cert.pem, key: server.key.pem });
  after(() => front.close());
  assert.equal(front.url, `https://127.0.0.1:${front.port}`);
  assert.deepEqual(await get(`https://localhost:${front.port}/a?b=1`, { ca: ca.cert.pem, ALPNProtocols: ["http/1.1"] }), {
    status: 200,
    body: "plain GET /a?b=1",
  });
  assert.deepEqual(front.sessions, [{ servername: "localhost", protocol: "TLSv1.3", alpn: "http/1.1", clientCommonName: undefined }]);
  await assert.rejects(get(`${front.url}/`, {}), /self-signed|unable to (get|verify)/);
});

test("with requestCert, records the common name of a client certificate the front trusts", async () => {
  const front = await startTlsFront(upstreamPort, {
    cert: server.cert.pem,
    key: server.key.pem,
    ca: ca.cert.pem,
    requestCert: true,
    rejectUnauthorized: false,
  });
  after(() => front.close());
  await get(`${front.url}/`, { ca: ca.cert.pem, cert: client.cert.pem, key: client.key.pem, maxVersion: "TLSv1.2" });
  await get(`${front.url}/`, { ca: ca.cert.pem });
  assert.deepEqual(
    front.sessions.map(({ servername, protocol, clientCommonName }) => ({ servername, protocol, clientCommonName })),
    [
      { servername: false, protocol: "TLSv1.2", clientCommonName: "agent" },
      { servername: false, protocol: "TLSv1.3", clientCommonName: undefined },
    ],
  );
});

test("setCertificate serves the new certificate and drops the open connections", { timeout: 10_000 }, async () => {
  const front = await startTlsFront(upstreamPort, { cert: server.cert.pem, key: server.key.pem });
  after(() => front.close());
  const other = await pki.authority("next-ca");
  const next = await other.issue("front", { names: ["127.0.0.1"] });

  const open = new Promise<void>((resolve, reject) => {
    const req = request(`${front.url}/`, { agent: false, ca: ca.cert.pem, method: "POST" }, () => reject(new Error("answered")));
    req.on("error", () => resolve());
    req.on("close", () => resolve());
    req.flushHeaders();
  });
  await pollUntil("the open connection's session", () => front.sessions.length > 0, { everyMs: 5 });
  front.setCertificate(next.cert.pem, next.key.pem);
  await open;

  await assert.rejects(get(`${front.url}/`, { ca: ca.cert.pem }), /self-signed|unable to (get|verify)|signature/);
  assert.equal((await get(`${front.url}/x`, { ca: other.cert.pem })).body, "plain GET /x");
});
