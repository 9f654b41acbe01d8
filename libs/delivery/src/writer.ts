import { isDeepStrictEqual } from "node:util";
import type { Environment, TargetConfig } from "@pyroscope-relay/config";
import { ThrottledLog, type Logger, type RelayMetrics } from "@pyroscope-relay/ops";
import { attemptsFor, BatchWorker, SharedChunks, type BatchWorkerObserver, type RedisConnection } from "@pyroscope-relay/queue";
import { backoffDelay } from "./backoff.js";
import { IngestQueries, rewriteKey } from "./ingest-queries.js";
import { PauseNotices } from "./pause-notices.js";
import { TargetDelivery } from "./target-delivery.js";

export interface WriterOptions {
  targets: TargetConfig[];
  /** A worker-role connection (`maxRetriesPerRequest: null`); the writer does not own it. */
  connection: RedisConnection;
  prefix: string;
  /** `--target.queue-shards`: every worker consumes all of its target's queue shards. */
  shards?: number;
  /** Requests in flight per target; as many batches in delivery per target and shard, up to `MAX_JOBS_AT_ONCE` (batch-worker.ts). */
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
  /** How long after it was added a drain job claims (`--writer.claim-delay`; 0, at once, by default). */
  claimDelayMs?: number;
  /** Where `proxy_from_environment` reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY; the process environment by default. */
  env?: Environment;
}

export interface Writer {
  /** The targets served now. */
  readonly targets: string[];
  /**
   * Serves `targets` from now on (a configuration reload): a new target gets a worker, a removed one's
   * worker finishes its active batches (or hands them back after the grace period) and stops, its
   * queue left as it is; a changed one's worker is replaced that way by one with the new settings.
   * The workers that go stop in the background (`close` waits for them).
   */
  setTargets(targets: readonly TargetConfig[]): void;
  close(): Promise<void>;
}

interface Served {
  target: TargetConfig;
  /** Its relabel rules and external labels as IngestQueries groups them. */
  rewrite: string;
  worker: BatchWorker;
  delivery: TargetDelivery;
}

/**
 * The most batch chunk bytes a writer keeps for its other targets' jobs: at 10 MB/s of profiles, a
 * few seconds of one target lagging behind another.
 */
const SHARED_CHUNK_BYTES = 32 * 1024 * 1024;

/** The most rewritten queries a writer keeps for its other targets with the same rewrite: seconds of a lag. */
const SHARED_QUERIES = 16_384;

/** Starts one worker per target; targets never share a worker, so one outage touches no other. */
export function startWriter(options: WriterOptions): Writer {
  const served = new Map<string, Served>();
  // Every target of a flush has a job for the same batch: the process reads its bytes once.
  const sharedChunks = new SharedChunks(() => served.size, SHARED_CHUNK_BYTES);
  // ... and rewrites each of its /ingest queries once per set of relabel rules and external labels.
  const queries = new IngestQueries((rewrite) => {
    let sharers = 0;
    for (const s of served.values()) if (s.rewrite === rewrite) sharers++;
    return sharers;
  }, SHARED_QUERIES);
  const serve = (target: TargetConfig): Served => {
    const delivery = new TargetDelivery({
      target,
      concurrency: options.concurrency,
      metrics: options.metrics,
      env: options.env ?? process.env,
      rewriteQuery: queries.rewriterFor(target),
    });
    const worker = new BatchWorker({
      target: target.name,
      shards: options.shards,
      connection: options.connection,
      prefix: options.prefix,
      attempts: attemptsFor(target),
      concurrency: options.concurrency,
      deliver: delivery.deliver,
      backoffMs: (retry) => backoffDelay(retry, target.minBackoffMs, target.maxBackoffMs),
      failedPayloadTtlMs: options.failedPayloadTtlMs,
      maxAgeMs: options.maxAgeMs,
      shutdownGraceMs: options.shutdownGraceMs,
      progressIntervalMs: options.progressIntervalMs,
      claimDelayMs: options.claimDelayMs,
      sharedChunks,
      observer: observe(target, options),
    });
    return { target, rewrite: rewriteKey(target), worker, delivery };
  };
  const stop = async (going: readonly Served[]) => {
    await Promise.all(going.map(({ worker }) => worker.close()));
    await Promise.all(going.map(({ delivery }) => delivery.close()));
  };
  const stopping = new Set<Promise<void>>();
  for (const target of options.targets) served.set(target.name, serve(target));
  options.logger.info({ targets: options.targets.map((t) => t.name), concurrency: options.concurrency }, "writer started");
  let closing: Promise<void> | undefined;
  return {
    get targets() {
      return [...served.keys()];
    },
    setTargets: (targets) => {
      const names = new Set(targets.map((target) => target.name));
      const going = [...served.values()].filter(
        ({ target }) =>
          !names.has(target.name) ||
          !isDeepStrictEqual(
            target,
            targets.find((t) => t.name === target.name),
          ),
      );
      for (const { target } of going) served.delete(target.name);
      // The old worker stops taking jobs before its replacement starts; the two may overlap on the
      // batches the old one still delivers, which the queue's locks keep apart.
      const stopped = stop(going).finally(() => stopping.delete(stopped));
      stopping.add(stopped);
      for (const target of targets) if (!served.has(target.name)) served.set(target.name, serve(target));
    },
    // Idempotent: a second signal waits for the same shutdown (closing an HTTP client twice throws).
    close: () => (closing ??= Promise.all([stop([...served.values()]), ...stopping]).then(() => undefined)),
  };
}

/** A target's worker events as logs (structured fields), Alloy's write metrics and the relay's failed counts. */
function observe(target: TargetConfig, { logger: parent, metrics }: WriterOptions): BatchWorkerObserver {
  const logger = parent.child({ target: target.name });
  const labels = { target: target.name, endpoint: target.url };
  const pauses = new PauseNotices();
  // Redis out of reach fails the same bookkeeping every second or two: once per 10 s, with the count.
  const bookkeeping = new ThrottledLog(logger);
  return {
    retrying: ({ jobId, attempt, profiles, failure }) => {
      metrics.writeRetries.inc(labels, profiles);
      logger.debug({ jobId, attempt, profiles, reason: failure.reason }, "delivery will be retried");
    },
    failed: ({ jobId, profiles, bytes, attempts, failure }) => {
      // Kept for replay, so not lost: not Alloy's dropped.
      metrics.failedProfiles.inc({ ...labels, reason: failure.reason }, profiles);
      metrics.failedBytes.inc({ ...labels, reason: failure.reason }, bytes);
      logger.warn({ jobId, profiles, attempts, reason: failure.reason, status: failure.status }, "delivery failed; batch kept for replay");
    },
    paused: ({ jobId, pauseMs, profiles, failure }) => {
      metrics.writeRetries.inc(labels, profiles);
      const level = pauses.news(performance.now(), pauseMs) ? "warn" : "debug";
      logger[level]({ jobId, pauseMs, reason: failure?.reason }, "target unavailable: queue paused");
    },
    lost: ({ jobId, batches }) =>
      logger.warn(
        { jobId, batches: batches.map(({ batch }) => batch), profiles: batches.reduce((sum, { profiles }) => sum + profiles, 0) },
        "claimed profiles whose batch is gone (delivered by a drain job a failover cut off from its claim, or stored twice the payload TTL ago): not delivered again",
      ),
    error: (err, context) => {
      if (context === "shutdown") return void logger.warn({ err, context }, "writer bookkeeping failed");
      // Keyed without the ids and numbers a message names (BullMQ's "could not renew lock for job <id>").
      const cause = (err instanceof Error ? err.message : String(err)).replace(/[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|\d+/gi, "#");
      bookkeeping.warn(`${context}: ${cause}`, { err, context }, "writer bookkeeping failed");
    },
  };
}
