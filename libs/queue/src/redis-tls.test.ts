// TLS to Redis (`rediss://`) against real redis-servers with certificates of a test authority that
// name `localhost` only, as certificates of managed Redis name hosts rather than addresses: one Redis
// asking for a client certificate, and clusters announcing their nodes by name and by address.
import assert from "node:assert/strict";
import { after, test, type TestContext } from "node:test";
import type { RedisTls } from "@pyroscope-relay/config";
import { startRedisCluster, startRedisServer, testPki, type RedisTlsFiles } from "@pyroscope-relay/testing";
import { ingestFacts, queueHarness, scriptedDelivery } from "./queue-harness.js";
import { createRedisConnection, isCluster, mastersOf, waitForRedis, type RedisEndpoint } from "./redis-connection.js";

const pki = await testPki();
const authority = await pki.authority("redis-ca");
const strangers = await pki.authority("strangers");
const server = await authority.issue("localhost", { names: ["localhost"], peer: true });
const relay = await authority.issue("relay", { client: true });
const serverTls = (authClients: boolean): RedisTlsFiles => ({ certFile: server.cert.file, keyFile: server.key.file, caFile: authority.cert.file, authClients });

const redis = await startRedisServer({ tls: serverTls(true) });
after(() => redis.stop());
// Stopped after the tests' own clean-up (their connections and workers), which the test hooks do first.
const namedCluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0, tls: serverTls(false), announceHostname: "localhost" });
after(() => namedCluster.stop());
const addressedCluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0, tls: serverTls(false) });
after(() => addressedCluster.stop());
const trusted: RedisTls = { ca: authority.cert.pem, cert: relay.cert.pem, key: relay.key.pem };

/** Connects to `endpoint` as the relay does: resolves once ready, or rejects with waitForRedis' error. */
async function connect(t: TestContext, endpoint: RedisEndpoint, timeoutMs = 3_000) {
  const connection = createRedisConnection(endpoint, "admin");
  connection.on("error", () => undefined);
  t.after(() => connection.disconnect());
  await waitForRedis(connection, timeoutMs);
  return connection;
}

test("one Redis over TLS: checked against the given authority, with the relay's client certificate", async (t) => {
  const connection = await connect(t, { url: `rediss://localhost:${redis.tlsPort}`, tls: trusted });
  await connection.set("tls-key", "stored over TLS");
  assert.equal(await connection.get("tls-key"), "stored over TLS");
});

test("a Redis whose certificate the authorities do not vouch for, or that wants a client certificate, is not used; the error says why", async (t) => {
  await assert.rejects(connect(t, { url: `rediss://localhost:${redis.tlsPort}`, tls: { ...trusted, ca: strangers.cert.pem } }, 1_000), (error: Error) => {
    assert.match(error.message, /not ready within 1000 ms.*certificate/);
    return true;
  });
  // The system's authorities: no test authority among them.
  await assert.rejects(connect(t, { url: `rediss://localhost:${redis.tlsPort}`, tls: { cert: relay.cert.pem, key: relay.key.pem } }, 1_000), /certificate/);
  // Redis ends the handshake of a client without a certificate.
  await assert.rejects(connect(t, { url: `rediss://localhost:${redis.tlsPort}`, tls: { ca: authority.cert.pem } }, 1_000), /not ready within 1000 ms/);
});

test("a Redis dialed by address is checked against the server name given, not the address its certificate lacks", async (t) => {
  await assert.rejects(connect(t, { url: `rediss://127.0.0.1:${redis.tlsPort}`, tls: trusted }, 1_000), /IP: 127\.0\.0\.1 is not in the cert's list/);
  const connection = await connect(t, { url: `rediss://127.0.0.1:${redis.tlsPort}`, tls: { ...trusted, serverName: "localhost" } });
  assert.equal(await connection.ping(), "PONG");
});

test("a cluster over TLS that announces its nodes by name: seeds are dialed by name, and the queue works across its masters", async (t) => {
  const cluster = namedCluster;
  // ioredis would dial the seed at the address `localhost` resolves to, which the certificate does not name.
  const endpoint = { clusterNodes: `rediss://localhost:${cluster.nodes[0]!.tlsPort}`, tls: { ca: authority.cert.pem } };
  // ioredis reads the slots on a connection of its own that keeps its errors: the seed, dialed alone, tells.
  await assert.rejects(connect(t, { ...endpoint, tls: { ca: strangers.cert.pem } }, 1_000), /not ready within 1000 ms.*\(localhost:\d+: .*certificate/);
  const connection = await connect(t, endpoint);
  assert.ok(isCluster(connection));
  assert.deepEqual(
    mastersOf(connection)
      .map((master) => `${master.options.host}:${master.options.port}`)
      .sort(),
    cluster.nodes.map((node) => `localhost:${node.tlsPort}`).sort(),
  );

  const h = await queueHarness(t, endpoint, ["alpha"], { shards: 4 });
  const delivered = new Set<string>();
  h.worker(
    "alpha",
    scriptedDelivery((query) => {
      delivered.add(query);
      return "deliver";
    }),
  );
  for (let round = 0; round < 6; round++) {
    await Promise.all(Array.from({ length: 4 }, (_, i) => h.enqueuer.enqueue(Buffer.alloc(1_000, i), ingestFacts(`n=${round * 4 + i}`), ["alpha"])));
  }
  const deadline = Date.now() + 10_000;
  while (delivered.size < 24 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  assert.equal(delivered.size, 24);
  const keysPerMaster = await Promise.all(mastersOf(h.connection).map((master) => master.dbsize()));
  assert.ok(
    keysPerMaster.every((keys) => keys > 0),
    `a master holds nothing: ${keysPerMaster.join(", ")}`,
  );
});

test("a cluster over TLS that announces its nodes by address is checked against the server name given", async (t) => {
  const seeds = `rediss://localhost:${addressedCluster.nodes[0]!.tlsPort}`;
  // The seed, dialed by name, passes; the masters it names, 127.0.0.1:<port>, would not.
  await assert.rejects(
    connect(t, { clusterNodes: seeds, tls: { ca: authority.cert.pem } }, 1_000),
    /not ready within 1000 ms.*127\.0\.0\.1:\d+: Hostname\/IP does not match certificate's altnames: IP: 127\.0\.0\.1 is not in the cert's list/,
  );
  const connection = await connect(t, { clusterNodes: seeds, tls: { ca: authority.cert.pem, serverName: "localhost" } });
  assert.ok(isCluster(connection));
  for (const key of ["a", "b", "c", "d", "e", "f"]) await connection.set(`tls-${key}`, key);
  const keysPerMaster = await Promise.all(mastersOf(connection).map((master) => master.dbsize()));
  assert.equal(
    keysPerMaster.reduce((sum, keys) => sum + keys, 0),
    6,
  );
  assert.ok(mastersOf(connection).every((master) => master.options.host === "127.0.0.1"));
});
