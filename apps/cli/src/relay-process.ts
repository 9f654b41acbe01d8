import { createAdminRouter, isLoopback } from "@pyroscope-relay/admin";
import type { RelayConfig, RelaySettings, TargetConfig } from "@pyroscope-relay/config";
import { startWriter } from "@pyroscope-relay/delivery";
import { parseListenAddr, RelayMetrics, startOpsServer } from "@pyroscope-relay/ops";
import type { Logger, OpsServer } from "@pyroscope-relay/ops";
import {
  checkRedisDurability,
  createRedisConnection,
  describeEndpoint,
  Enqueuer,
  FailedJobRetention,
  isCluster,
  recordTargets,
  RedisMemoryGuard,
  targetQueues,
  waitForRedis,
  type RedisConnection,
  type RedisEndpoint,
} from "@pyroscope-relay/queue";
import { startReceiver, ThrottledLog } from "@pyroscope-relay/receiver";
import type { Receiver } from "@pyroscope-relay/receiver";
import { startEmbeddedRedis } from "./embedded-redis.js";
import type { EmbeddedRedis } from "./embedded-redis.js";
import { UsageError } from "./usage-error.js";

const redisStartupTimeoutMs = 10_000;
/** The BullMQ job states `pyroscope_relay_queue_jobs` reports per target. */
const queueStates = ["waiting", "delayed", "active", "failed", "prioritized"] as const;
/** Deliveries still active this long after SIGTERM are handed back to waiting (compose allows 30 s). */
const writerShutdownGraceMs = 20_000;

export interface RelayRoles {
  ingest: boolean;
  writer: boolean;
  /** Start a private redis-server when no Redis URL is configured (`run` only). */
  embeddedRedis: boolean;
}

export interface RunningRelay {
  ops: OpsServer;
  receivers: Receiver[];
  /** Readiness turns 503, listeners drain, workers hand back or finish their jobs, Redis closes. */
  shutdown(): Promise<void>;
}

/** Starts the long-running parts a command asks for, plus the ops server they all share. */
export async function startRelay(config: RelayConfig, settings: RelaySettings, roles: RelayRoles, logger: Logger): Promise<RunningRelay> {
  const targets = selectTargets(config, settings.targets);
  const stack: (() => Promise<void>)[] = [];
  const shutdown = async () => {
    for (const stop of stack.reverse()) {
      await stop().catch((err: unknown) => logger.error({ err }, "error during shutdown"));
    }
  };
  let ready = false;
  try {
    const redis = await resolveRedis(settings, roles, logger, stack);
    const metrics = new RelayMetrics();
    const admin = track(createRedisConnection(redis, "admin", "pyroscope-relay:admin"), stack, logger);
    await waitForRedis(admin, redisStartupTimeoutMs);
    for (const warning of await checkRedisDurability(admin, { minReplicas: settings.redisMinReplicas })) {
      logger.warn({ redis: describeEndpoint(redis) }, warning);
    }
    // So that a target later removed from the configuration is still found with its queue.
    await recordTargets(admin, settings.queuePrefix, config.targets.map((t) => t.name));
    const ops = await startOpsServer({
      listenAddr: settings.opsListenAddr,
      logger,
      metrics,
      isReady: () => ready,
      mount: (app) => {
        app.use(
          createAdminRouter({
            connection: admin,
            prefix: settings.queuePrefix,
            shards: settings.queueShards,
            payloadTtlMs: settings.payloadTtlMs,
            targets: () => config.targets.map((t) => t.name),
            token: settings.adminToken,
            listenAddr: settings.opsListenAddr,
            logger,
          }),
        );
      },
    });
    stack.push(() => ops.close());
    const depths = config.targets.map((t) => ({ target: t.name, queues: targetQueues(admin, settings.queuePrefix, t.name, settings.queueShards) }));
    stack.push(async () => {
      await Promise.all(depths.flatMap(({ queues }) => queues.map((queue) => queue.close())));
    });
    metrics.setQueueDepthSource(
      async () => (await Promise.all(depths.map(async ({ target, queues }) => jobCounts(target, await Promise.all(queues.map((queue) => queue.getJobCounts(...queueStates))))))).flat(),
      (err) => logger.debug({ err }, "queue depths not read for this scrape"),
    );
    if (settings.adminToken === undefined && !isLoopback(parseListenAddr(settings.opsListenAddr).host)) {
      logger.warn({ ops: settings.opsListenAddr }, "admin API disabled: the ops server listens beyond loopback; set --server.http.admin-token to enable it");
    }
    // Started in this order so that shutdown (in reverse) first stops the listeners, then drains the writer.
    if (roles.writer) {
      startWriterRole({ redis, targets, settings, logger, metrics, admin, stack });
    }
    const receivers = roles.ingest ? await startIngestRole({ redis, config, settings, logger, metrics, stack }) : [];
    ready = true;
    return {
      ops,
      receivers,
      shutdown: async () => {
        ready = false;
        await shutdown();
      },
    };
  } catch (err) {
    await shutdown();
    throw err;
  }
}

interface RoleContext {
  redis: RedisEndpoint;
  settings: RelaySettings;
  logger: Logger;
  metrics: RelayMetrics;
  stack: (() => Promise<void>)[];
}

/** The receive_http listeners, their producer connection, enqueuer and Redis memory guard. */
async function startIngestRole({ redis, config, settings, logger, metrics, stack }: RoleContext & { config: RelayConfig }): Promise<Receiver[]> {
  const producer = track(createRedisConnection(redis, "producer", "pyroscope-relay:ingest"), stack, logger);
  // The producer has no offline queue: it must be connected before the first request arrives.
  await waitForRedis(producer, redisStartupTimeoutMs);
  const memoryGuard = new RedisMemoryGuard({
    connection: producer,
    onChange: (state) => {
      metrics.redisMemoryFull.set(state.full ? 1 : 0);
      const memory = { usedBytes: state.usedBytes, maxmemory: state.maxBytes };
      if (state.full) logger.warn(memory, "Redis is near its maxmemory: ingest answers 503 until the writers free memory");
      else logger.info(memory, "Redis memory below the limit again: ingest accepts profiles");
    },
    onError: (err) => logger.warn({ err }, "could not read Redis memory (INFO memory); the memory guard waits for the next reading"),
  });
  memoryGuard.start();
  stack.push(() => memoryGuard.stop());
  const enqueuer = new Enqueuer({
    connection: producer,
    prefix: settings.queuePrefix,
    payloadTtlMs: settings.payloadTtlMs,
    targets: config.targets,
    backlog: { maxProfiles: settings.backlogMaxProfiles, maxBytes: settings.backlogMaxBytes, policy: settings.backlogFullPolicy },
    memoryGuard,
    flush: { maxItems: settings.flushMaxProfiles, maxBytes: settings.flushMaxBytes },
    queueShards: settings.queueShards,
    replication: settings.redisMinReplicas > 0 ? { minReplicas: settings.redisMinReplicas, timeoutMs: settings.redisReplicaTimeoutMs } : undefined,
    onError: (err) => logger.debug({ err }, "backlog reading or cleanup after a failed flush did not reach Redis"),
  });
  stack.push(() => enqueuer.close());
  // Admission starts from what Redis holds, not from an empty backlog.
  await enqueuer.readBacklogs();
  const warnings = new ThrottledLog(logger);
  const receivers: Receiver[] = [];
  for (const receiver of config.receivers) {
    const started = await startReceiver({ config: receiver, enqueuer, logger, metrics, maxBodyBytes: settings.maxBodyBytes, warnings });
    receivers.push(started);
    stack.push(() => started.close());
  }
  return receivers;
}

/** One worker per target, plus the failed-job retention sweeper. */
function startWriterRole({ redis, targets, settings, logger, metrics, admin, stack }: RoleContext & { targets: TargetConfig[]; admin: RedisConnection }): void {
  const connection = track(createRedisConnection(redis, "worker", "pyroscope-relay:writer"), stack, logger);
  const writer = startWriter({
    targets,
    connection,
    prefix: settings.queuePrefix,
    shards: settings.queueShards,
    concurrency: settings.writerConcurrency,
    logger,
    metrics,
    // A job that fails for good keeps its profile as long as retention may keep the job.
    failedPayloadTtlMs: settings.failedMaxAgeMs,
    maxAgeMs: settings.maxAgeMs,
    shutdownGraceMs: writerShutdownGraceMs,
  });
  stack.push(() => writer.close());
  // On the admin connection: a sweep gives up while Redis is down instead of holding up shutdown.
  const retention = new FailedJobRetention({
    connection: admin,
    prefix: settings.queuePrefix,
    shards: settings.queueShards,
    targets: targets.map((t) => t.name),
    maxAgeMs: settings.failedMaxAgeMs,
    maxCount: settings.failedMaxCount,
    onSweep: (sweep) => {
      if (sweep.removed > 0) logger.info(sweep, "removed failed jobs past --queue.failed-max-age or --queue.failed-max-count");
    },
    onError: (err) => logger.warn({ err, target: err.target }, "failed-job retention sweep failed; retrying at the next one"),
  });
  retention.start();
  stack.push(() => retention.stop());
}

/** A target's job counts by state, summed over its queue shards. */
function jobCounts(target: string, shards: Record<string, number>[]): { target: string; state: string; count: number }[] {
  return queueStates.map((state) => ({ target, state, count: shards.reduce((sum, counts) => sum + (counts[state] ?? 0), 0) }));
}

function selectTargets(config: RelayConfig, names: string[]) {
  const unknown = names.filter((name) => !config.targets.some((t) => t.name === name));
  if (unknown.length > 0) {
    const known = config.targets.map((t) => t.name).join(", ");
    throw new UsageError(`--target ${unknown.join(", ")}: no such target in the configuration (targets: ${known})`);
  }
  return names.length === 0 ? config.targets : config.targets.filter((t) => names.includes(t.name));
}

async function resolveRedis(settings: RelaySettings, roles: RelayRoles, logger: Logger, stack: (() => Promise<void>)[]): Promise<RedisEndpoint> {
  if (settings.redisClusterNodes !== undefined) return { clusterNodes: settings.redisClusterNodes };
  if (settings.redisUrl !== undefined) return settings.redisUrl;
  if (!roles.embeddedRedis) {
    throw new UsageError("--redis.url (or REDIS_URL) or --redis.cluster-nodes is required: ingest and writer processes share one Redis");
  }
  const embedded: EmbeddedRedis = await startEmbeddedRedis(settings.storagePath);
  stack.push(() => embedded.stop());
  logger.info({ storage: settings.storagePath, redis: embedded.url }, "started embedded redis-server (AOF, noeviction)");
  return embedded.url;
}

function track<Connection extends RedisConnection>(connection: Connection, stack: (() => Promise<void>)[], logger: Logger): Connection {
  // ioredis reconnects by itself; without a listener every failed attempt is an unhandled error.
  // Requests meanwhile get 503 and readiness stays: the log line is per connection state, not per error.
  const name = isCluster(connection) ? connection.options.redisOptions?.connectionName : connection.options.connectionName;
  let down = false;
  connection.on("error", (err: unknown) => {
    if (!down) logger.warn({ err, connection: name }, "Redis connection lost; reconnecting");
    down = true;
  });
  connection.on("ready", () => {
    if (down) logger.info({ connection: name }, "Redis connection back");
    down = false;
  });
  stack.push(async () => {
    await connection.quit().catch(() => connection.disconnect());
  });
  return connection;
}
