import { startRedisCluster, startRedisServer, type RedisServerHandle, freePort } from "@pyroscope-relay/testing";
import { relayConfig } from "../e2e/support/relay-config.js";
import { startRelayProcess, type RelayProcess } from "../e2e/support/relay-process.js";
import type { RedisPersistence } from "./options.js";
import type { MeteredProcess } from "./process-cpu.js";
import { RedisProbe } from "./redis-stats.js";
import { track } from "./teardown.js";

/**
 * The relay's flags for every bench process: backlogs without bounds, so that ingest never drops or
 * refuses a profile because the writer is behind (the bench measures both sides, not the bounds);
 * warn-level logs, since a line per profile would cost the CPU being measured.
 */
const relayFlags = ["--target.max-backlog-size=0", "--target.max-backlog-profiles=0", "--log.level=warn"];

/** Where the relay keeps its queues in a phase. */
export interface RedisSetup {
  persistence: RedisPersistence;
  /** A local cluster of 3 masters with a replica each instead of one Redis. */
  cluster: boolean;
  queueShards: number;
}

/** A fresh Redis with the relay's `ingest` (and `writer`, if asked) on it. */
export interface Stage {
  /** The receiver's base URL. */
  url: string;
  probe: RedisProbe;
  /** The ops server of `ingest`: its metrics. */
  ingestOpsUrl: string;
  /** The relay's processes: `ingest`, and `writer` if asked. */
  processes: MeteredProcess[];
  stop(): Promise<void>;
}

/** The launcher's options for `persistence`. */
function redisPersistence({ appendfsync, aofRewriteMinSize }: RedisPersistence) {
  return { appendfsync, aofRewriteMinSize: String(aofRewriteMinSize) };
}

/** A fresh Redis for one phase, and a probe on it. */
export interface BenchRedis {
  redis: RedisServerHandle;
  probe: RedisProbe;
  stop(): Promise<void>;
}

/** AOF on (fsynced before every reply unless asked otherwise), nothing evicted. */
export async function startBenchRedis(persistence: RedisPersistence): Promise<BenchRedis> {
  // maxmemory 0 is "no limit"; the option is what sets noeviction.
  const redis = await startRedisServer({ appendonly: true, maxmemory: "0", ...redisPersistence(persistence) });
  const stopRedis = track(() => redis.stop());
  const probe = new RedisProbe([{ name: "redis", path: redis.socketPath }]);
  const closeProbe = track(async () => probe.close());
  await probe.watchLatency();
  return {
    redis,
    probe,
    async stop() {
      await closeProbe();
      await stopRedis();
    },
  };
}

/**
 * A fresh cluster for one phase, the same settings on every node: the probe reads its masters (each
 * replica's own CPU is left out: a replica serves no client); the relay waits for a replica per flush.
 */
async function startBenchCluster(setup: RedisSetup): Promise<{ args: string[]; probe: RedisProbe; stop(): Promise<void> }> {
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, appendonly: true, maxmemory: "0", ...redisPersistence(setup.persistence) });
  const stopCluster = track(() => cluster.stop());
  const probe = new RedisProbe((await cluster.masters()).map((node) => ({ name: `master ${node.address}`, port: node.port })));
  const closeProbe = track(async () => probe.close());
  await probe.watchLatency();
  return {
    args: [`--redis.cluster-nodes=${cluster.seeds}`, "--redis.min-replicas=1"],
    probe,
    async stop() {
      await closeProbe();
      await stopCluster();
    },
  };
}

export async function startStage(options: { targetUrls: string[]; writer: boolean } & RedisSetup): Promise<Stage> {
  const redis = options.cluster
    ? await startBenchCluster(options)
    : await startBenchRedis(options.persistence).then((single) => ({ ...single, args: [`--redis.url=${single.redis.url}`] }));
  const port = await freePort();
  const config = relayConfig({ port, targets: options.targetUrls.map((url, i) => ({ name: `t${i + 1}`, url })) });
  const args = [...redis.args, `--target.queue-shards=${options.queueShards}`, ...relayFlags];
  const ingest = await startRelayProcess({ command: "ingest", config, args });
  const stopIngest = trackRelay(ingest, "ingest");
  // The writer at the priority it is deployed with (SCHED_IDLE), which the bench measures.
  const writer = options.writer ? await startRelayProcess({ command: "writer", config, args, writerPriority: "deployed" }) : undefined;
  const stopWriter = writer === undefined ? undefined : trackRelay(writer, "writer");
  return {
    url: `http://127.0.0.1:${port}`,
    probe: redis.probe,
    ingestOpsUrl: ingest.opsUrl,
    processes: [{ name: "ingest", pid: ingest.child.pid! }, ...(writer === undefined ? [] : [{ name: "writer", pid: writer.child.pid! }])],
    async stop() {
      await stopWriter?.();
      await stopIngest();
      await redis.stop();
    },
  };
}

/** Stops with the stage; whatever the relay logged (warnings and errors only) is shown then. */
function trackRelay(relay: RelayProcess, command: string): () => Promise<void> {
  return track(async () => {
    const code = await relay.stop();
    const output = relay.output().trim();
    if (code !== 0 || output !== "") console.error(`bench: relay ${command} exited with ${code}, having logged:\n${output.slice(-4_000)}`);
  });
}
