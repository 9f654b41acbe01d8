import type { TargetConfig } from "@pyroscope-relay/config";
import type { Logger, RelayMetrics } from "@pyroscope-relay/ops";
import { BatchWorker, type BatchWorkerObserver, type RedisConnection } from "@pyroscope-relay/queue";
import { backoffDelay } from "./backoff.js";
import { TargetDelivery } from "./target-delivery.js";

export interface WriterOptions {
  targets: TargetConfig[];
  /** A worker-role connection (`maxRetriesPerRequest: null`); the writer does not own it. */
  connection: RedisConnection;
  prefix: string;
  /** `--target.queue-shards`: every worker consumes all of its target's queue shards. */
  shards?: number;
  /** Requests in flight per target, and batches in delivery per target. */
  concurrency: number;
  logger: Logger;
  metrics: RelayMetrics;
  /** A profile that failed for good keeps its bytes at least this long (`--queue.failed-max-age`). */
  failedPayloadTtlMs: number;
  /** Profiles queued longer fail as `expired` without an attempt; 0 = never. */
  maxAgeMs?: number;
  /** How long `close()` waits for active deliveries before aborting them and handing them back. */
  shutdownGraceMs?: number;
  /** Least time between two saves of a batch's progress (see BatchWorker). */
  progressIntervalMs?: number;
}

export interface Writer {
  readonly targets: string[];
  close(): Promise<void>;
}

/** Starts one worker per target; targets never share a worker, so one outage touches no other. */
export function startWriter(options: WriterOptions): Writer {
  const started = options.targets.map((target) => {
    const delivery = new TargetDelivery({ target, concurrency: options.concurrency, metrics: options.metrics });
    const worker = new BatchWorker({
      target: target.name,
      shards: options.shards,
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      deliver: delivery.deliver,
      backoffMs: (retry) => backoffDelay(retry, target.minBackoffMs, target.maxBackoffMs),
      failedPayloadTtlMs: options.failedPayloadTtlMs,
      maxAgeMs: options.maxAgeMs,
      shutdownGraceMs: options.shutdownGraceMs,
      progressIntervalMs: options.progressIntervalMs,
      observer: observe(target, options),
    });
    return { worker, delivery };
  });
  options.logger.info({ targets: options.targets.map((t) => t.name), concurrency: options.concurrency }, "writer started");
  let closing: Promise<void> | undefined;
  return {
    targets: options.targets.map((t) => t.name),
    // Idempotent: a second signal waits for the same shutdown (closing an HTTP client twice throws).
    close: () =>
      (closing ??= (async () => {
        await Promise.all(started.map(({ worker }) => worker.close()));
        await Promise.all(started.map(({ delivery }) => delivery.close()));
      })()),
  };
}

/** A target's worker events as logs (structured fields) and Alloy's write metrics. */
function observe(target: TargetConfig, { logger: parent, metrics }: WriterOptions): BatchWorkerObserver {
  const logger = parent.child({ target: target.name });
  const labels = { target: target.name, endpoint: target.url };
  return {
    retrying: ({ jobId, attempt, profiles, failure }) => {
      metrics.writeRetries.inc(labels, profiles);
      logger.debug({ jobId, attempt, profiles, reason: failure.reason }, "delivery will be retried");
    },
    failed: ({ jobId, profiles, bytes, attempts, failure }) => {
      metrics.writeDroppedProfiles.inc(labels, profiles);
      metrics.writeDroppedBytes.inc(labels, bytes);
      logger.warn({ jobId, profiles, attempts, reason: failure.reason, status: failure.status }, "delivery failed; batch kept for replay");
    },
    paused: ({ jobId, pauseMs, profiles, failure }) => {
      metrics.writeRetries.inc(labels, profiles);
      logger.warn({ jobId, pauseMs, reason: failure?.reason }, "target unavailable: queue paused");
    },
    error: (err, context) => logger.warn({ err, context }, "writer bookkeeping failed"),
  };
}
