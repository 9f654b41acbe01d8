// The writer delivering through a local HTTP proxy: targets named with hosts only the proxy can reach.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { TargetConfig } from "@pyroscope-relay/config";
import { startFakeTarget, startForwardProxy, startTlsFront, targetConfig, testPki } from "@pyroscope-relay/testing";
import { eventually, ingestData, redisForFile } from "./writer-harness.js";

const { relay } = await redisForFile();

test("delivery through a local HTTP proxy: an http target forwarded, an https target through a tunnel", async (t) => {
  const pki = await testPki();
  const ca = await pki.authority("proxy-test-ca");
  const { cert, key } = await ca.issue("secure.test", { names: ["secure.test"] });
  const plain = await startFakeTarget();
  const secure = await startFakeTarget();
  const front = await startTlsFront(Number(new URL(secure.url).port), { cert: cert.pem, key: key.pem });
  t.after(() => front.close());
  const ports: Record<string, number> = { "plain.test": Number(new URL(plain.url).port), "secure.test": front.port };
  const proxy = await startForwardProxy((host) => ports[host] ?? 1);
  t.after(() => proxy.close());
  const viaProxy: TargetConfig["proxy"] = { kind: "url", url: proxy.url, connectHeaders: { "X-Proxy-Route": ["profiles"] } };

  const r = await relay(
    t,
    [
      targetConfig("plain", { url: "http://plain.test:4040", proxy: viaProxy, auth: { kind: "bearer", token: "plain-token" } }),
      targetConfig("secure", {
        url: "https://secure.test",
        proxy: viaProxy,
        auth: { kind: "bearer", token: "secure-token" },
        tls: { ca: ca.cert.pem, insecureSkipVerify: false },
      }),
    ],
    { fakes: [plain, secure] },
  );
  const { batchId } = await r.enqueuer.enqueue(Buffer.from("proxied profile"), ingestData(), ["plain", "secure"]);
  await eventually("both deliveries", async () => !(await r.batchExists(batchId)));

  assert.deepEqual(
    plain.requests.map((q) => [q.body.toString(), q.headers.authorization]),
    [["proxied profile", "Bearer plain-token"]],
  );
  assert.deepEqual(
    secure.requests.map((q) => [q.body.toString(), q.headers.authorization]),
    [["proxied profile", "Bearer secure-token"]],
  );
  const seen = proxy.requests.map((q) => [q.method, q.target.replace(/\?.*/, ""), q.headers["x-proxy-route"]]);
  assert.deepEqual(seen.sort(), [
    ["CONNECT", "secure.test:443", "profiles"],
    ["POST", "http://plain.test:4040/ingest", undefined],
  ]);
});
