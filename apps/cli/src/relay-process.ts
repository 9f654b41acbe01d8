import { AdminGate, createAdminRouter, isLoopback, ReloadError, serveDashboard } from "@pyroscope-relay/admin";
import {
  changesBetween,
  KubernetesObjectWatch,
  LocalFileWatch,
  type KubernetesObjectReader,
  type RelayConfig,
  type RelaySettings,
} from "@pyroscope-relay/config";
import { dashboardDir } from "@pyroscope-relay/dashboard";
import { parseListenAddr, RelayMetrics, startOpsServer } from "@pyroscope-relay/ops";
import type { Logger, OpsServer } from "@pyroscope-relay/ops";
import {
  checkRedisDurability,
  createRedisConnection,
  describeEndpoint,
  readTargetBacklog,
  recordTargets,
  waitForRedis,
  type QueueShardsWatch,
  type RedisConnection,
  type RedisEndpoint,
} from "@pyroscope-relay/queue";
import type { Receiver } from "@pyroscope-relay/receiver";
import { RedisServerNotFoundError, startEmbeddedRedis } from "@pyroscope-relay/redis-server";
import { within } from "./deadline.js";
import { IngestRole } from "./ingest-role.js";
import { checkQueueShards } from "./queue-shards-check.js";
import { configuredEndpoint } from "./redis-endpoint.js";
import { relayVersion } from "./commands/version.js";
import { QueueStateExport } from "./queue-state-export.js";
import { redisAnswering, track, type ShutdownStack } from "./shutdown-stack.js";
import { UsageError } from "./usage-error.js";
import { lowerWriterPriority } from "./writer-priority.js";
import { WriterRole } from "./writer-role.js";

const redisStartupTimeoutMs = 10_000;

/**
 * How long a reload waits for each answer from Redis. Its admin connection waits for ever on a Redis
 * that stops answering (frozen, or cut off without a reset), and so would the reload and a shutdown
 * waiting for it.
 */
const reloadRedisTimeoutMs = 2_000;

function answered<T>(work: Promise<T>): Promise<T> {
  return within(work, reloadRedisTimeoutMs, "Redis did not answer");
}

export interface RelayRoles {
  ingest: boolean;
  writer: boolean;
  /** Start a private redis-server when no Redis URL is configured (`run` only). */
  embeddedRedis: boolean;
}

export interface RelayOptions {
  /** Reads the configuration again (SIGHUP, `POST /-/reload`); without it the process cannot reload. */
  reloadConfig?: () => Promise<RelayConfig>;
  /** Reads the objects of the configuration's remote.kubernetes.* components: each is read again every poll_frequency, and a change reloads. */
  readKubernetesObject?: KubernetesObjectReader;
  /**
   * The relay cannot go on (its embedded redis-server exited): it is no longer ready, and the caller
   * should shut it down and exit non-zero, so that a supervisor restarts it on the same storage.
   */
  onFatal?: (error: Error) => void;
  /**
   * Aborts the start where it waits for Redis (an embedded one loading a large AOF, or one of the
   * user's not up yet): `startRelay` then rejects with a RedisServerStartStoppedError or a RedisWaitStoppedError.
   */
  signal?: AbortSignal;
}

export interface RunningRelay {
  ops: OpsServer;
  /** The receivers listening now. */
  readonly receivers: Receiver[];
  /**
   * Reads the configuration again and applies it without a restart: receivers and targets are added,
   * removed and changed; what is queued or in flight is kept (a removed target keeps its queue in
   * Redis). Rejects, keeping the running configuration, when the new one cannot be read or used.
   * Reloads run one at a time.
   */
  reload(): Promise<void>;
  /** Readiness turns 503, listeners drain, workers hand back or finish their jobs, Redis closes. */
  shutdown(): Promise<void>;
}

/** Starts the long-running parts a command asks for, plus the ops server they all share. */
export async function startRelay(
  config: RelayConfig,
  settings: RelaySettings,
  roles: RelayRoles,
  logger: Logger,
  options: RelayOptions = {},
): Promise<RunningRelay> {
  let current = config;
  const stack: ShutdownStack = [];
  const shutdown = async () => {
    for (const stop of stack.reverse()) {
      await stop().catch((err: unknown) => logger.error({ err }, "error during shutdown"));
    }
  };
  let ready = false;
  /** Set once shutdown begins: a reload then would start receivers and workers nothing stops. */
  let stopping = false;
  let reloading: Promise<void> = Promise.resolve();
  let apply: ((next: RelayConfig) => Promise<void>) | undefined;
  const reload = (): Promise<void> => {
    const run = reloading.then(async () => {
      if (options.reloadConfig === undefined) throw new ReloadError("this process cannot reload its configuration", "refused");
      if (stopping) throw new ReloadError("the process is shutting down: configuration not reloaded", "unavailable");
      if (apply === undefined) throw new ReloadError("the relay is still starting: configuration not reloaded", "unavailable");
      // Every check that can refuse the new configuration comes before any change.
      let next: RelayConfig;
      try {
        next = await options.reloadConfig();
        selectTargets(next, settings.targets);
      } catch (err) {
        logger.error({ error: messageOf(err) }, "configuration not reloaded: the running one stays");
        throw new ReloadError(messageOf(err), "refused", { cause: err });
      }
      try {
        await apply(next);
      } catch (err) {
        const outcome = err instanceof ReloadError ? err.outcome : "partial";
        const message = {
          refused: "configuration not reloaded: the running one stays",
          unavailable: "configuration not reloaded: nothing changed, reload again later",
          partial: "configuration reload failed part-way: fix the cause and reload again",
        }[outcome];
        logger.error({ error: messageOf(err) }, message);
        throw err instanceof ReloadError ? err : new ReloadError(messageOf(err), "partial", { cause: err });
      }
    });
    reloading = run.catch(() => undefined);
    return run;
  };
  try {
    const targets = selectTargets(config, settings.targets);
    const configured = configuredRedis(settings, roles);
    const metrics = new RelayMetrics();
    metrics.setBuildInfo(relayVersion());
    // Listening before Redis is reached: health and metrics answer while an embedded Redis loads a
    // large AOF or a Redis of the user's is not up yet (a liveness probe must not restart the wait).
    const adminApi = new AdminGate();
    let queueShards: QueueShardsWatch | undefined;
    const ops = await startOpsServer({
      listenAddr: settings.opsListenAddr,
      logger,
      metrics,
      isReady: () => ready,
      // A writer that misses queue shards leaves their batches undelivered: say so, not ready.
      readinessProblem: () => (roles.writer ? queueShards?.mismatch?.message : undefined),
      mount: (app) => {
        app.use(adminApi.handler);
        app.use(serveDashboard(dashboardDir));
      },
    });
    stack.push(() => ops.close());
    const redis =
      configured ??
      (await startEmbedded(settings, logger, stack, options.signal, (description) => {
        ready = false;
        options.onFatal?.(new Error(`the embedded ${description}: no profile can be stored or delivered`));
      }));
    const admin = track(createRedisConnection(redis, "admin", "pyroscope-relay:admin"), stack, logger);
    // Taken back before the connection it uses closes.
    stack.push(() => adminApi.close());
    await waitForRedis(admin, redisStartupTimeoutMs, options.signal);
    for (const warning of await checkRedisDurability(admin, { minReplicas: settings.redisMinReplicas })) {
      logger.warn({ redis: describeEndpoint(redis) }, warning);
    }
    // A writer is refused if the deployment's queues have more shards than it would consume; an ingest process warns.
    queueShards = await checkQueueShards({ admin, settings, writer: roles.writer, logger, stack });
    // So that a target later removed from the configuration is still found with its queue.
    await recordTargets(
      admin,
      settings.queuePrefix,
      config.targets.map((t) => t.name),
    );
    adminApi.open(
      createAdminRouter({
        connection: admin,
        prefix: settings.queuePrefix,
        shards: settings.queueShards,
        payloadTtlMs: settings.payloadTtlMs,
        targets: () => current.targets.map((t) => t.name),
        backlogBounds: { maxBytes: settings.backlogMaxBytes, maxProfiles: settings.backlogMaxProfiles },
        metrics,
        receivers: () => (roles.ingest ? current.receivers.map((r) => r.label) : []),
        token: settings.adminToken,
        listenAddr: settings.opsListenAddr,
        logger,
        ...(options.reloadConfig === undefined ? {} : { reload }),
      }),
    );
    const queueState = new QueueStateExport(admin, settings.queuePrefix, settings.queueShards);
    queueState.setTargets(config.targets);
    queueState.attach(metrics, (err) => logger.debug({ err }, "queue state not read for this scrape"));
    stack.push(() => queueState.close({ release: redisAnswering(stack) }));
    if (settings.adminToken === undefined && !isLoopback(parseListenAddr(settings.opsListenAddr).host)) {
      logger.warn({ ops: settings.opsListenAddr }, "admin API disabled: the ops server listens beyond loopback; set --server.http.admin-token to enable it");
    }
    // Started in this order so that shutdown (in reverse) first stops the listeners, then drains the writer.
    // `run` acknowledges too: only a process that only delivers steps back.
    if (roles.writer && !roles.ingest) lowerWriterPriority(settings.writerPriority, logger);
    const writer = roles.writer ? WriterRole.start({ redis, targets, settings, logger, metrics, admin, stack }) : undefined;
    const ingest = roles.ingest ? await IngestRole.start({ redis, config, settings, logger, metrics, stack, signal: options.signal }) : undefined;
    // As Alloy re-evaluates what reads a local.file when its file changes: a reload, which keeps the
    // running configuration when the new one cannot be used.
    const localFiles =
      options.reloadConfig === undefined
        ? undefined
        : new LocalFileWatch({
            changed: (file) => {
              logger.info({ localFile: file.label, path: file.path }, "local.file changed: reloading the configuration");
              // A reload that could not take the new content for a passing reason goes again at the next check.
              reload().catch((err: unknown) => {
                if (!(err instanceof ReloadError && err.outcome === "refused")) localFiles?.retry(file);
              });
            },
            watchFailed: (file, err) =>
              logger.warn({ localFile: file.label, path: file.path, err }, "cannot watch a local.file for changes: it is checked every poll_frequency"),
          });
    if (localFiles !== undefined) stack.push(async () => localFiles.close());
    // As Alloy's remote.kubernetes.* components poll their object and their dependants see new data.
    const kubernetesObjects =
      options.reloadConfig === undefined || options.readKubernetesObject === undefined
        ? undefined
        : new KubernetesObjectWatch(options.readKubernetesObject, {
            changed: (object) => {
              logger.info({ component: object.id }, "Kubernetes object changed: reloading the configuration");
              reload().catch((err: unknown) => {
                if (!(err instanceof ReloadError && err.outcome === "refused")) kubernetesObjects?.retry(object);
              });
            },
            readFailed: (object, err) =>
              logger.warn(
                { component: object.id, err },
                "cannot read a Kubernetes object: the relay keeps what it read last and reads it again every poll_frequency",
              ),
            readAgain: (object) => logger.info({ component: object.id }, "Kubernetes object read again"),
          });
    if (kubernetesObjects !== undefined) stack.push(async () => kubernetesObjects.close());
    apply = async (next) => {
      const served = selectTargets(next, settings.targets);
      const names = next.targets.map((t) => t.name);
      // Redis answers first: while it does not, the reload changes nothing (503).
      try {
        await answered(admin.ping());
      } catch (err) {
        throw new ReloadError(`cannot reach Redis: ${messageOf(err)}`, "unavailable", { cause: err });
      }
      // Ingest first: it takes the new receivers and targets whole or not at all (ReloadError,
      // refused), and the writer, which cannot refuse them, follows only once they are taken.
      try {
        await ingest?.apply(next);
      } catch (err) {
        await recordHeld(
          names.filter((name) => !current.targets.some((t) => t.name === name)),
          { admin, settings, logger },
        );
        throw err;
      }
      // Only once taken: a refused file's targets would be listed by `failed` as removed ones. The
      // file is taken by then, so the writer must follow whether Redis answers or not: the set only
      // lets `failed` find a target's queue once the target is removed again.
      try {
        await answered(recordTargets(admin, settings.queuePrefix, names));
      } catch (err) {
        logger.warn({ err, targets: names }, "could not record the targets in Redis: `failed` lists a removed target only once a reload or a start records it");
      }
      await writer?.apply(served);
      queueState.setTargets(next.targets);
      const previous = current;
      current = next;
      localFiles?.watch(next.localFiles);
      kubernetesObjects?.watch(next.kubernetesObjects);
      await logReload(previous, next, { admin, settings, logger });
    };
    localFiles?.watch(config.localFiles);
    kubernetesObjects?.watch(config.kubernetesObjects);
    ready = true;
    return {
      ops,
      get receivers() {
        return ingest?.listening ?? [];
      },
      reload,
      shutdown: async () => {
        ready = false;
        stopping = true;
        await reloading;
        await shutdown();
      },
    };
  } catch (err) {
    await shutdown();
    throw err;
  }
}

/**
 * Of a refused file's new targets, records those that hold profiles: its receivers may have stored
 * some before the reload was undone, and `failed` and `purge` find them only so.
 */
async function recordHeld(
  targets: readonly string[],
  { admin, settings, logger }: { admin: RedisConnection; settings: RelaySettings; logger: Logger },
): Promise<void> {
  try {
    const backlogs = await answered(Promise.all(targets.map((target) => readTargetBacklog(admin, settings.queuePrefix, target, settings.queueShards))));
    await answered(
      recordTargets(
        admin,
        settings.queuePrefix,
        targets.filter((_, i) => backlogs[i]!.profiles > 0),
      ),
    );
  } catch (err) {
    logger.warn({ err, targets }, "could not record the refused configuration's targets that hold profiles: `failed` may not list them");
  }
}

/** What a reload changed, and for every target it removed, what its queue still holds. */
async function logReload(
  previous: RelayConfig,
  next: RelayConfig,
  { admin, settings, logger }: { admin: RedisConnection; settings: RelaySettings; logger: Logger },
): Promise<void> {
  const names = <T>(items: T[], nameOf: (item: T) => string) => items.map(nameOf);
  const receivers = changesBetween(previous.receivers, next.receivers, (r) => r.label);
  const targets = changesBetween(previous.targets, next.targets, (t) => t.name);
  logger.info(
    {
      receivers: {
        added: names(receivers.added, (r) => r.label),
        removed: names(receivers.removed, (r) => r.label),
        changed: names(receivers.changed, (r) => r.label),
      },
      targets: { added: names(targets.added, (t) => t.name), removed: names(targets.removed, (t) => t.name), changed: names(targets.changed, (t) => t.name) },
    },
    "configuration reloaded",
  );
  for (const target of targets.removed) {
    const backlog = await answered(readTargetBacklog(admin, settings.queuePrefix, target.name, settings.queueShards)).catch(() => undefined);
    logger.warn(
      { target: target.name, waitingProfiles: backlog?.profiles },
      "target removed from the configuration: its queue stays in Redis, with its failed batches (see `failed`); purge it or add the target back",
    );
  }
}

function selectTargets(config: RelayConfig, names: string[]) {
  const unknown = names.filter((name) => !config.targets.some((t) => t.name === name));
  if (unknown.length > 0) {
    const known = config.targets.map((t) => t.name).join(", ");
    throw new UsageError(`--target ${unknown.join(", ")}: no such target in the configuration (targets: ${known})`);
  }
  return names.length === 0 ? config.targets : config.targets.filter((t) => names.includes(t.name));
}

/** The Redis the settings name, or undefined for the embedded one; ingest and writer need one named. */
function configuredRedis(settings: RelaySettings, roles: RelayRoles): RedisEndpoint | undefined {
  const configured = configuredEndpoint(settings);
  if (configured !== undefined) return configured;
  if (!roles.embeddedRedis) {
    throw new UsageError("--redis.url (or REDIS_URL) or --redis.cluster-nodes is required: ingest and writer processes share one Redis");
  }
  return undefined;
}

async function startEmbedded(
  settings: RelaySettings,
  logger: Logger,
  stack: ShutdownStack,
  signal: AbortSignal | undefined,
  onLost: (description: string) => void,
): Promise<RedisEndpoint> {
  const embedded = await startEmbeddedRedis(settings.storagePath, signal === undefined ? {} : { signal }).catch((error: unknown) => {
    if (!(error instanceof RedisServerNotFoundError)) throw error;
    throw new Error(
      `no Redis configured and ${error.message};\n  or point the relay at a Redis of yours with --redis.url (REDIS_URL), e.g. one started with ` +
        "`docker run -d -p 127.0.0.1:6379:6379 redis:7.4.6 --appendonly yes --appendfsync always --maxmemory-policy noeviction` and --redis.url redis://127.0.0.1:6379",
      { cause: error },
    );
  });
  stack.push(() => embedded.stop());
  embedded.onUnexpectedExit(onLost);
  logger.info({ storage: settings.storagePath, redis: embedded.url }, "started embedded redis-server (AOF, noeviction)");
  return embedded.url;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
