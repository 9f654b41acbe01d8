// The relay's processes and operator commands on Redis over TLS, given the authority, a client
// certificate and the server name by flags and variables: one Redis that asks for the client's
// certificate, and a cluster announcing its nodes by address with certificates that name a host.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, gzippedPprof, startFakeTarget, startRedisCluster, startRedisServer, testPki } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisClusterHandle, RedisServerHandle } from "@pyroscope-relay/testing";
import { relayConfig } from "./support/relay-config.js";
import { startRelayProcess, type RelayProcess } from "./support/relay-process.js";
import { runCommand } from "./support/run-command.js";

const pki = await testPki();

describe("pyroscope-relay on Redis over TLS", () => {
  let redis: RedisServerHandle;
  let cluster: RedisClusterHandle;
  let target: FakeTarget;
  let dir: string;
  let configPath: string;
  let config: string;
  let port: number;
  let caFile: string;
  let clientFiles: string[];
  const relays: RelayProcess[] = [];

  before(async () => {
    const authority = await pki.authority("redis-ca");
    const server = await authority.issue("localhost", { names: ["localhost"], peer: true });
    const client = await authority.issue("relay", { client: true });
    caFile = authority.cert.file;
    clientFiles = [`--redis.tls-cert-file=${client.cert.file}`, `--redis.tls-key-file=${client.key.file}`];
    const tls = { certFile: server.cert.file, keyFile: server.key.file, caFile };
    redis = await startRedisServer({ appendonly: true, tls: { ...tls, authClients: true } });
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0, appendonly: true, tls });
    target = await startFakeTarget();
    port = await freePort();
    config = relayConfig({ port, targets: [{ name: "a", url: target.url }] });
    dir = await mkdtemp(join(tmpdir(), "relay-redis-tls-"));
    configPath = join(dir, "relay.alloy");
    await writeFile(configPath, config);
  });

  after(async () => {
    for (const relay of relays) await relay.stop();
    await target?.close();
    await cluster?.stop();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const send = async (seed: number) => {
    const res = await fetch(`http://127.0.0.1:${port}/ingest?name=tls-app&format=pprof`, { method: "POST", body: gzippedPprof({ seed }) });
    assert.equal(res.status, 200, await res.text());
  };
  const deliveredSoon = async (count: number) => {
    const deadline = Date.now() + 20_000;
    while (target.requests.length < count && Date.now() < deadline) await sleep(50);
    assert.equal(target.requests.length, count);
  };

  it("runs on one Redis that wants a client certificate; a run without the authority is refused with the reason", async () => {
    const url = `--redis.url=rediss://localhost:${redis.tlsPort}`;
    const relay = await startRelayProcess({ config, args: [url, ...clientFiles], env: { RELAY_REDIS_TLS_CA_FILE: caFile } });
    relays.push(relay);
    for (let i = 0; i < 3; i++) await send(i);
    await deliveredSoon(3);
    const failed = await runCommand(["failed", configPath, url, `--redis.tls-ca-file=${caFile}`, ...clientFiles]);
    assert.equal(failed.code, 0, failed.stderr);
    assert.equal(failed.stdout, "a: no failed batches\n");
    await relay.stop();
    relays.pop();

    const untrusted = await runCommand(["failed", configPath, url, ...clientFiles]);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /cannot reach Redis at rediss:\/\/localhost:\d+ within 5 s: .*certificate/);
    const unreadable = await runCommand(["check", configPath, url, `--redis.tls-ca-file=${join(dir, "missing.pem")}`]);
    assert.equal(unreadable.code, 2);
    assert.match(unreadable.stderr, /--redis\.tls-ca-file \(or RELAY_REDIS_TLS_CA_FILE\): cannot read ".*missing\.pem": ENOENT/);
  });

  it("runs separate ingest and writer on a cluster that announces its nodes by address, checked against the server name", async () => {
    target.requests.length = 0;
    const args = [
      `--redis.cluster-nodes=rediss://localhost:${cluster.nodes[0]!.tlsPort}`,
      `--redis.tls-ca-file=${caFile}`,
      "--redis.tls-server-name=localhost",
      "--target.queue-shards=4",
    ];
    relays.push(await startRelayProcess({ command: "ingest", config, args }));
    relays.push(await startRelayProcess({ command: "writer", config, args }));
    for (let i = 0; i < 12; i++) await send(100 + i);
    await deliveredSoon(12);
  });
});
