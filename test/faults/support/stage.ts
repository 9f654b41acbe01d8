import { after, before } from "node:test";
import { startFakeTarget, startRedisCluster, startRedisServer, freePort } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisClusterHandle, RedisClusterOptions, RedisServerHandle } from "@pyroscope-relay/testing";
import { startRelayProcess, type RelayProcess } from "../../e2e/support/relay-process.js";
import { ledgerFor, type TargetLedger } from "./ledger.js";
import { relayConfig } from "./relay.js";

/**
 * What most fault tests stand on: a redis-server with AOF fsynced before every reply (so an
 * acknowledged profile must survive any kill), two fake targets, and the relay processes the test
 * starts. Registered with the enclosing suite's hooks; everything is torn down after it.
 */
export interface FaultStage {
  redis: RedisServerHandle;
  a: FakeTarget;
  b: FakeTarget;
  /** Relay processes to stop after the suite. */
  processes: RelayProcess[];
}

export function faultStage(): FaultStage {
  const stage = { processes: [] as RelayProcess[] } as FaultStage;
  before(async () => {
    stage.redis = await startRedisServer({ appendonly: true, appendfsync: "always" });
    stage.a = await startFakeTarget();
    stage.b = await startFakeTarget();
  });
  after(async () => {
    // Held answers first, or stopping a writer would wait for them.
    stage.a?.release();
    for (const p of stage.processes) await p.stop();
    await stage.a?.close();
    await stage.b?.close();
    await stage.redis?.stop();
  });
  return stage;
}

/** As FaultStage, on a Redis Cluster: the cluster faults' stage. */
export interface ClusterFaultStage {
  cluster: RedisClusterHandle;
  a: FakeTarget;
  b: FakeTarget;
  /** Relay processes to stop after the suite. */
  processes: RelayProcess[];
}

/** A Redis Cluster started with `options` (AOF fsynced before every reply), the two fake targets, and the processes. */
export function clusterFaultStage(options: RedisClusterOptions): ClusterFaultStage {
  const stage = { processes: [] as RelayProcess[] } as ClusterFaultStage;
  before(async () => {
    stage.cluster = await startRedisCluster({ ...options, appendonly: true, appendfsync: "always" });
    stage.a = await startFakeTarget();
    stage.b = await startFakeTarget();
  });
  after(async () => {
    for (const p of stage.processes) await p.stop();
    await stage.a?.close();
    await stage.b?.close();
    await stage.cluster?.stop();
  });
  return stage;
}

/** A relay configuration forwarding to targets `a` and `b`, its receiver's URL, and the targets' ledgers. */
export interface ForwardingToBoth {
  config: string;
  url: string;
  ledgers: TargetLedger[];
}

/** One receiver on a free port forwarding to `a` and `b`, each with the `endpoint` attributes given. */
export async function forwardingToBoth(a: FakeTarget, b: FakeTarget, endpoint?: string): Promise<ForwardingToBoth> {
  const port = await freePort();
  const config = relayConfig({
    port,
    targets: [
      { name: "a", url: a.url, endpoint },
      { name: "b", url: b.url, endpoint },
    ],
  });
  return { config, url: `http://127.0.0.1:${port}`, ledgers: [ledgerFor("a", a), ledgerFor("b", b)] };
}

/**
 * Ingest and a writer (at its deployed priority) on the stage's cluster, forwarding to a and b: 4
 * queue shards, a replica confirming every flush (`--redis.min-replicas 1`), `concurrency` per shard.
 */
export async function relayOnCluster(stage: ClusterFaultStage, concurrency: number): Promise<ForwardingToBoth> {
  const forwarding = await forwardingToBoth(stage.a, stage.b);
  const args = [
    `--redis.cluster-nodes=${stage.cluster.seeds}`,
    "--target.queue-shards=4",
    "--redis.min-replicas=1",
    "--redis.replica-timeout=1s",
    `--writer.concurrency=${concurrency}`,
    "--log.level=info",
  ];
  stage.processes.push(await startRelayProcess({ command: "ingest", config: forwarding.config, args }));
  stage.processes.push(await startRelayProcess({ command: "writer", config: forwarding.config, args, writerPriority: "deployed" }));
  return forwarding;
}
