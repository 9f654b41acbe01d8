import type { RelaySettings, TargetConfig } from "@pyroscope-relay/config";
import { startWriter, type Writer } from "@pyroscope-relay/delivery";
import type { Logger, RelayMetrics } from "@pyroscope-relay/ops";
import { createRedisConnection, FailedJobRetention, type RedisConnection, type RedisEndpoint } from "@pyroscope-relay/queue";
import { track, type ShutdownStack } from "./shutdown-stack.js";

/** Deliveries still active this long after SIGTERM are handed back to waiting (compose allows 30 s). */
const writerShutdownGraceMs = 20_000;

export interface WriterRoleOptions {
  redis: RedisEndpoint;
  targets: TargetConfig[];
  settings: RelaySettings;
  logger: Logger;
  metrics: RelayMetrics;
  /** For retention: a sweep gives up while Redis is down instead of holding up shutdown. */
  admin: RedisConnection;
  stack: ShutdownStack;
}

/** One worker per target, plus the failed-job retention sweeper. */
export class WriterRole {
  private constructor(
    private readonly writer: Writer,
    private readonly retention: FailedJobRetention,
  ) {}

  static start({ redis, targets, settings, logger, metrics, admin, stack }: WriterRoleOptions): WriterRole {
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
      claimDelayMs: settings.writerClaimDelayMs,
      shutdownGraceMs: writerShutdownGraceMs,
    });
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
    // Together: the workers stop taking jobs and hand theirs back at once, not after a sweep under way;
    // each runs to its end before the connections close.
    stack.push(async () => {
      for (const stopped of await Promise.allSettled([writer.close(), retention.stop()])) {
        if (stopped.status === "rejected") throw stopped.reason;
      }
    });
    return new WriterRole(writer, retention);
  }

  /** Serves the reloaded configuration's targets (see `Writer.setTargets`). */
  async apply(targets: readonly TargetConfig[]): Promise<void> {
    this.writer.setTargets(targets);
    await this.retention.setTargets(targets.map((t) => t.name));
  }
}
