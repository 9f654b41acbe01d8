import { isDeepStrictEqual } from "node:util";
import { changesBetween, setsOwnTenant, type ReceiverConfig, type RelayConfig, type RelaySettings } from "@pyroscope-relay/config";
import { debuginfoUpstream } from "@pyroscope-relay/delivery";
import { ThrottledLog, type Logger, type RelayMetrics } from "@pyroscope-relay/ops";
import { createRedisConnection, Enqueuer, RedisGuard, waitForRedis, type RedisEndpoint } from "@pyroscope-relay/queue";
import { BodyBudget, startReceiver, type Receiver } from "@pyroscope-relay/receiver";
import { ReloadError } from "@pyroscope-relay/admin";
import { track, type ShutdownStack } from "./shutdown-stack.js";

const redisStartupTimeoutMs = 10_000;

export interface IngestRoleOptions {
  redis: RedisEndpoint;
  config: RelayConfig;
  settings: RelaySettings;
  logger: Logger;
  metrics: RelayMetrics;
  stack: ShutdownStack;
  /** Ends the wait for Redis: a process asked to stop while it starts. */
  signal?: AbortSignal | undefined;
}

interface Running {
  config: ReceiverConfig;
  receiver: Receiver;
}

/** The receive_http listeners of a process, their producer connection, enqueuer and Redis guard. */
export class IngestRole {
  private readonly receivers = new Map<string, Running>();
  private readonly warnings: ThrottledLog;
  /** The request bodies every receiver of the process holds, under one bound. */
  private readonly bodies: BodyBudget;
  /** The targets that send a tenant of their own, never the client's: set per configuration, read for a client tenant Pyroscope refuses. */
  private ownTenants: Set<string>;
  /** Each target's URL, Alloy's `endpoint` label; a reload updates it. */
  private readonly endpoints: Map<string, string>;

  private constructor(
    private readonly options: IngestRoleOptions,
    private readonly enqueuer: Enqueuer,
    private config: RelayConfig,
  ) {
    this.warnings = new ThrottledLog(options.logger);
    this.bodies = new BodyBudget(options.settings.maxInflightBodyBytes, options.metrics, this.warnings);
    this.ownTenants = ownTenantsOf(config);
    this.endpoints = endpointsOf(config);
  }

  static async start(options: IngestRoleOptions): Promise<IngestRole> {
    const { redis, config, settings, logger, metrics, stack } = options;
    const producer = track(createRedisConnection(redis, "producer", "pyroscope-relay:ingest"), stack, logger);
    // BullMQ's queues on a connection of their own keep its scripts out of every flush's MULTI.
    const jobs = track(createRedisConnection(redis, "producer", "pyroscope-relay:ingest-jobs"), stack, logger);
    // Producers have no offline queue: they must be connected before the first request arrives.
    await Promise.all([waitForRedis(producer, redisStartupTimeoutMs, options.signal), waitForRedis(jobs, redisStartupTimeoutMs, options.signal)]);
    const minReplicas = settings.redisMinReplicas;
    const guard = new RedisGuard({
      connection: producer,
      minReplicas,
      onMemoryChange: (state) => {
        metrics.redisMemoryFull.set(state.full ? 1 : 0);
        const memory = { usedBytes: state.usedBytes, maxmemory: state.maxBytes };
        if (state.full) logger.warn(memory, "Redis is near its maxmemory: ingest answers 503 until the writers free memory");
        else logger.info(memory, "Redis memory below the limit again: ingest accepts profiles");
      },
      onReplicasChange: (short) => {
        metrics.redisMastersShortOfReplicas.set(short.length);
        if (short.length > 0) {
          logger.warn(
            { masters: short, minReplicas },
            "Redis masters with fewer replicas online than --redis.min-replicas: flushes that would write to them are refused with 503",
          );
        } else logger.info({ minReplicas }, "every Redis master has its replicas online again");
      },
      onError: (err) => logger.warn({ err }, "could not read Redis' state (INFO); the guard waits for the next reading"),
    });
    guard.start();
    stack.push(() => guard.stop());
    const enqueuer = new Enqueuer({
      connection: producer,
      jobConnection: jobs,
      prefix: settings.queuePrefix,
      payloadTtlMs: settings.payloadTtlMs,
      targets: config.targets,
      backlog: { maxProfiles: settings.backlogMaxProfiles, maxBytes: settings.backlogMaxBytes, policy: settings.backlogFullPolicy },
      guard,
      flush: { maxItems: settings.flushMaxProfiles, maxBytes: settings.flushMaxBytes },
      queueShards: settings.queueShards,
      replication: minReplicas > 0 ? { minReplicas, timeoutMs: settings.redisReplicaTimeoutMs } : undefined,
      onError: (err) => logger.debug({ err }, "backlog reading or cleanup after a failed flush did not reach Redis"),
      onFlush: ({ profiles, seconds, stored }) => {
        metrics.flushDuration.observe({ outcome: stored ? "stored" : "failed" }, seconds);
        metrics.flushProfiles.observe(profiles);
      },
    });
    stack.push(() => enqueuer.close());
    // Admission starts from what Redis holds, not from an empty backlog.
    await enqueuer.readBacklogs();
    const role = new IngestRole(options, enqueuer, config);
    // Listeners close before the enqueuer (the stack runs in reverse): their requests finish their flush.
    stack.push(() => role.close());
    for (const receiver of config.receivers) await role.start(receiver);
    return role;
  }

  get listening(): Receiver[] {
    return [...this.receivers.values()].map(({ receiver }) => receiver);
  }

  /**
   * Takes a reloaded configuration whole, or not at all. The enqueuer's targets first (a receiver
   * may forward to a new one); then the listeners: every receiver that closes (removed, or changed
   * in more than its `forward_to`) closes, finishing its requests, before any starts, so that two
   * receivers may swap ports; then the changed and new ones start. If one cannot listen (its port
   * taken, its address not on this host), those started close and those closed start again as they
   * were: the running configuration stays (ReloadError, refused). Only then are the receivers whose
   * `forward_to` alone changed retargeted in place, their debuginfo calls following their first
   * target. A removed target takes profiles until the receivers are done: the requests a closing
   * receiver finishes name it still, and are stored for it, not refused.
   */
  async apply(next: RelayConfig): Promise<void> {
    const previous = this.config;
    const nextNames = new Set(next.targets.map((target) => target.name));
    const previousNames = new Set(previous.targets.map((target) => target.name));
    const removed = previous.targets.filter((target) => !nextNames.has(target.name));
    const added = next.targets.filter((target) => !previousNames.has(target.name));
    const storedBefore = new Map([...removed, ...added].map((target) => [target.name, this.enqueuer.storedFor(target.name)]));
    const changes = changesBetween(previous.receivers, next.receivers, (receiver) => receiver.label);
    const retargeted: ReceiverConfig[] = [];
    const restarted: ReceiverConfig[] = [];
    for (const receiver of [...changes.changed, ...changes.kept]) {
      const running = this.receivers.get(receiver.label);
      // Not running: a reload failed to start it again (its port was taken meanwhile, say).
      if (running === undefined || !onlyForwardingChanged(running.config, receiver)) restarted.push(receiver);
      else retargeted.push(receiver);
    }
    this.enqueuer.setTargets([...next.targets, ...removed]);
    this.use(next);
    try {
      await this.replaceListeners([...changes.removed, ...restarted], [...restarted, ...changes.added], previous);
      for (const receiver of retargeted) {
        const running = this.receivers.get(receiver.label)!;
        running.receiver.retarget(receiver);
        const debuginfoChanged = !isDeepStrictEqual(debuginfoTarget(previous, running.config), debuginfoTarget(next, receiver));
        running.config = receiver;
        if (debuginfoChanged) running.receiver.redirectDebuginfo(debuginfoUpstreamOf(next, receiver));
      }
      for (const [target, url] of endpointsOf(next)) this.endpoints.set(target, url);
    } finally {
      this.enqueuer.setTargets(this.config.targets);
      const taken = this.config === next;
      // Taken: what closing receivers finished for the targets it removed. Refused: what receivers
      // started with it stored, before one could not listen, for targets only it named.
      for (const { name: target } of taken ? removed : added) {
        const profiles = this.enqueuer.storedFor(target) - storedBefore.get(target)!;
        if (profiles === 0) continue;
        this.options.logger.warn(
          { target, profiles },
          taken
            ? "profiles that closing receivers finished were stored for a removed target: they wait in its queue (add the target back to deliver them, or purge them)"
            : "profiles were stored for a target of the refused configuration before the reload was undone: they wait in its queue (reload with the target to deliver them, or purge them)",
        );
      }
    }
  }

  /**
   * Closes the receivers `closing` names, then starts `starting`; if one cannot start, puts back the
   * listeners `previous` had and throws a ReloadError: refused when they all listen again, partial
   * when one of them cannot (its port taken meanwhile: the next reload starts it).
   */
  private async replaceListeners(closing: readonly ReceiverConfig[], starting: readonly ReceiverConfig[], previous: RelayConfig): Promise<void> {
    const closed = closing.flatMap(({ label }) => {
      const running = this.receivers.get(label);
      return running === undefined ? [] : [running.config];
    });
    await Promise.all(closed.map(({ label }) => this.stop(label)));
    const started: string[] = [];
    try {
      for (const receiver of starting) {
        await this.start(receiver);
        started.push(receiver.label);
      }
    } catch (err) {
      await Promise.all(started.map((label) => this.stop(label)));
      this.use(previous);
      const notRestored: string[] = [];
      for (const receiver of closed) {
        await this.start(receiver).catch((restartErr: unknown) => {
          notRestored.push(receiver.label);
          this.options.logger.error({ err: restartErr, receiver: receiver.label }, "a receiver the failed reload had closed could not listen again");
        });
      }
      const reason = err instanceof Error ? err.message : String(err);
      if (notRestored.length > 0) {
        throw new ReloadError(
          `${reason}; and receive_http ${notRestored.map((label) => JSON.stringify(label)).join(", ")} could not listen again as before`,
          "partial",
          {
            cause: err,
          },
        );
      }
      throw new ReloadError(`${reason}: the running configuration stays`, "refused", { cause: err });
    }
  }

  /** The configuration receivers start with and the tenant rule reads. */
  private use(config: RelayConfig): void {
    this.config = config;
    this.ownTenants = ownTenantsOf(config);
  }

  private async start(config: ReceiverConfig): Promise<void> {
    const { settings, logger, metrics } = this.options;
    const debuginfo = debuginfoUpstreamOf(this.config, config);
    let receiver: Receiver;
    try {
      receiver = await startReceiver({
        config,
        enqueuer: this.enqueuer,
        logger,
        metrics,
        maxBodyBytes: settings.maxBodyBytes,
        warnings: this.warnings,
        bodies: this.bodies,
        // The receivers count what a full target drops (as Alloy counts it) under its endpoint as the configuration has it now.
        endpointOf: (target) => this.endpoints.get(target) ?? "",
        ...(debuginfo === undefined ? {} : { debuginfo }),
        // The targets as the running configuration has them: a reload may change their headers.
        forwardsClientTenant: (targets) => targets.some((name) => !this.ownTenants.has(name)),
      });
    } catch (err) {
      // A receiver that never listened never closes its upstream: its pools close here.
      await debuginfo?.close();
      throw err;
    }
    this.receivers.set(config.label, { config, receiver });
  }

  private async stop(label: string): Promise<void> {
    const running = this.receivers.get(label);
    this.receivers.delete(label);
    await running?.receiver.close();
  }

  private async close(): Promise<void> {
    await Promise.all([...this.receivers.keys()].map((label) => this.stop(label)));
  }
}

/** Whether two versions of a receiver differ in where they forward only. */
function onlyForwardingChanged(before: ReceiverConfig, after: ReceiverConfig): boolean {
  const rest = ({ forwardTo: _f, targets: _t, ...settings }: ReceiverConfig) => settings;
  return isDeepStrictEqual(rest(before), rest(after));
}

function ownTenantsOf(config: RelayConfig): Set<string> {
  return new Set(config.targets.filter(setsOwnTenant).map((target) => target.name));
}

function endpointsOf(config: RelayConfig): Map<string, string> {
  return new Map(config.targets.map((target) => [target.name, target.url]));
}

function debuginfoTarget(config: RelayConfig, receiver: ReceiverConfig) {
  return config.targets.find((target) => target.name === receiver.targets[0]);
}

/**
 * Debuginfo calls go to the receiver's first target, as Alloy passes them to its first endpoint,
 * over that endpoint's full HTTP client (auth, oauth2, proxy, TLS), as a writer delivers to it.
 */
function debuginfoUpstreamOf(config: RelayConfig, receiver: ReceiverConfig) {
  const first = debuginfoTarget(config, receiver);
  return first === undefined ? undefined : debuginfoUpstream(first);
}
