import { UnrecoverableError, Worker } from "bullmq";
import type { Job } from "bullmq";
import type { Redis } from "ioredis";
import type { TargetConfig } from "@pyroscope-relay/config";
import type { Logger, RelayMetrics } from "@pyroscope-relay/ops";
import { jobData, queueNameFor, TargetBacklog } from "@pyroscope-relay/queue";
import type { JobData, PayloadStore } from "@pyroscope-relay/queue";
import { backoffDelay } from "./backoff.js";
import { PermanentDeliveryError, RetryableDeliveryError } from "./delivery-error.js";
import { deliverIngest } from "./ingest-delivery.js";
import { deliverPush } from "./push-delivery.js";
import { TargetCircuit } from "./target-circuit.js";
import { TargetClient } from "./target-client.js";

export interface TargetWorkerOptions {
  target: TargetConfig;
  /** A worker-role connection (`maxRetriesPerRequest: null`); the worker does not own it. */
  connection: Redis;
  payloads: PayloadStore;
  prefix: string;
  concurrency: number;
  logger: Logger;
  metrics: RelayMetrics;
  /** Jobs older than this fail as `expired` without a delivery attempt; 0 = never. */
  maxAgeMs?: number;
  /** A job that failed for good keeps its payload at least this long (retention may remove it sooner). */
  failedPayloadTtlMs?: number;
  /** How long `close()` waits for active deliveries before aborting them and handing them back to waiting. */
  shutdownGraceMs?: number;
}

/** Delivers one target's queue: one BullMQ worker with the endpoint's retry schedule. */
export class TargetWorker {
  private readonly worker: Worker<JobData>;
  private readonly client: TargetClient;
  private readonly logger: Logger;
  private readonly circuit: TargetCircuit;
  private readonly backlog: TargetBacklog;
  private readonly stopping = new AbortController();
  /** Releases started by `completed` events; BullMQ does not wait for its listeners. */
  private readonly releasing = new Set<Promise<void>>();
  private closing: Promise<void> | undefined;

  constructor(private readonly options: TargetWorkerOptions) {
    const { target } = options;
    this.client = new TargetClient(target, this.stopping.signal);
    this.circuit = new TargetCircuit(target.minBackoffMs, target.maxBackoffMs);
    this.backlog = new TargetBacklog(options.connection, options.prefix, target.name);
    this.logger = options.logger.child({ target: target.name });
    this.worker = new Worker<JobData>(queueNameFor(target.name), (job) => this.process(job), {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      // A forwarder's job should survive a few worker crashes before it is declared failed.
      maxStalledCount: 5,
      // A crashed writer's jobs come back after about two of these instead of BullMQ's minute;
      // the lock is renewed every half period, so long deliveries keep theirs.
      lockDuration: 15_000,
      stalledInterval: 15_000,
      // BullMQ honours `rateLimit()` (the circuit breaker's pause) only when a limiter is set; this
      // one is far above any real rate, so it never throttles by itself.
      limiter: { max: 2 ** 31, duration: 1_000 },
      settings: { backoffStrategy: (attemptsMade) => backoffDelay(attemptsMade, target.minBackoffMs, target.maxBackoffMs) },
    });
    this.worker.on("completed", (job) => this.track(this.release(job)));
    this.worker.on("failed", (job, err) => this.failed(job, err));
    this.worker.on("error", (err) => this.logger.error({ err }, "worker error"));
  }

  private async process(job: Job<JobData>): Promise<void> {
    const data = jobData.parse(job.data);
    const { maxAgeMs = 0 } = this.options;
    const since = data.replayedAt ?? data.receivedAt;
    if (maxAgeMs > 0 && Date.now() - since > maxAgeMs) {
      // Pyroscope rejects profiles older than its ingestion window: fail now, replayable later.
      throw new PermanentDeliveryError(`expired: queued since ${new Date(since).toISOString()}, longer than the maximum age of ${maxAgeMs} ms`);
    }
    const payload = await this.options.payloads.get(data.payloadId);
    if (payload === null) {
      throw new PermanentDeliveryError("payload expired: the stored profile is gone (TTL or purge)");
    }
    const started = performance.now();
    const { target, metrics } = this.options;
    try {
      if (data.kind === "ingest") {
        await deliverIngest(this.client, target, data, payload);
      } else {
        const seriesDone = typeof job.progress === "number" ? job.progress : 0;
        await deliverPush(this.client, target, data, payload, seriesDone, (count) => job.updateProgress(count));
      }
    } catch (err) {
      if (this.stopping.signal.aborted) {
        // Cut off by shutdown: back to waiting, without using an attempt, for another writer.
        throw Worker.RateLimitError();
      }
      await this.openCircuit(err);
      throw err;
    }
    this.circuit.delivered();
    const labels = { target: target.name, endpoint: target.url };
    metrics.writeLatency.observe(labels, (performance.now() - started) / 1000);
    metrics.writeSentBytes.inc(labels, payload.length);
    metrics.writeSentProfiles.inc(labels);
  }

  /**
   * Pauses the whole target queue (every worker, every process) when the target asked for it or is
   * unreachable; the job goes back to waiting without using an attempt.
   */
  private async openCircuit(err: unknown): Promise<void> {
    if (!(err instanceof RetryableDeliveryError)) {
      return;
    }
    const pauseMs = this.circuit.pauseFor(err);
    if (pauseMs === undefined) {
      return;
    }
    await this.worker.rateLimit(pauseMs);
    const { target, metrics } = this.options;
    metrics.writeRetries.inc({ target: target.name, endpoint: target.url });
    this.logger.warn({ pauseMs, reason: err.reason }, "target unavailable: queue paused");
    throw Worker.RateLimitError();
  }

  private track(releasing: Promise<void>): void {
    this.releasing.add(releasing);
    void releasing.finally(() => this.releasing.delete(releasing));
  }

  private async release(job: Job<JobData>): Promise<void> {
    try {
      await this.options.payloads.release(job.data.payloadId, this.options.target.name);
    } catch (err) {
      // The payload TTL reclaims it; the delivery itself succeeded.
      this.logger.warn({ err, jobId: job.id }, "could not release delivered payload");
    }
    await this.leaveBacklog(job);
  }

  /** The job no longer counts against the target's backlog bound; a lost decrement heals once the queue is empty. */
  private async leaveBacklog(job: Job<JobData>): Promise<void> {
    try {
      await this.backlog.release(job.data.payloadSize);
    } catch (err) {
      this.logger.warn({ err, jobId: job.id }, "could not count the job out of the target's backlog");
    }
  }

  private failed(job: Job<JobData> | undefined, err: Error): void {
    const { target, metrics } = this.options;
    if (job === undefined) {
      return;
    }
    const labels = { target: target.name, endpoint: target.url };
    // UnrecoverableError also covers BullMQ's own "job stalled more than allowable limit".
    const final = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (final) {
      this.keepPayload(job);
      this.track(this.leaveBacklog(job));
      metrics.writeDroppedProfiles.inc(labels);
      metrics.writeDroppedBytes.inc(labels, job.data.payloadSize);
      this.logger.warn({ jobId: job.id, attempts: job.attemptsMade, reason: err.message }, "delivery failed; job kept for replay");
    } else {
      metrics.writeRetries.inc(labels);
      this.logger.debug({ jobId: job.id, attempts: job.attemptsMade, reason: err.message }, "delivery will be retried");
    }
  }

  private keepPayload(job: Job<JobData>): void {
    const { failedPayloadTtlMs } = this.options;
    if (failedPayloadTtlMs === undefined) {
      return;
    }
    this.track(
      this.options.payloads.refresh(job.data.payloadId, failedPayloadTtlMs).then(
        () => undefined,
        (err: unknown) => this.logger.warn({ err, jobId: job.id }, "could not extend the failed job's payload TTL"),
      ),
    );
  }

  /**
   * Stops fetching new jobs and waits for the active ones and their payload releases (without
   * that wait the caller may close the connection under a release, leaving the payload to its TTL).
   * Idempotent: a second call (e.g. a second signal) waits for the same shutdown, since closing the
   * HTTP client twice would throw.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const { shutdownGraceMs = 20_000 } = this.options;
      const graceful = this.worker.close();
      if ((await within(graceful, shutdownGraceMs)) === "late") {
        this.logger.warn({ shutdownGraceMs }, "deliveries still active at shutdown: handing them back");
        this.stopping.abort();
        // With Redis unreachable even handing back cannot finish: the jobs' locks expire and another
        // writer recovers them as stalled.
        if ((await within(graceful, handBackMs)) === "late") {
          this.logger.warn({ handBackMs }, "could not hand active jobs back (Redis unreachable?): leaving them to stalled-job recovery");
        }
      }
      if ((await within(Promise.all(this.releasing), handBackMs)) === "late") {
        this.logger.warn("payload releases still pending at shutdown: their payload TTL reclaims them");
      }
      await this.client.close();
    })();
    return this.closing;
  }
}

/** How long shutdown waits for Redis once deliveries are aborted. */
const handBackMs = 5_000;

function within(work: Promise<unknown>, ms: number): Promise<"done" | "late"> {
  return Promise.race([
    work.then(() => "done" as const),
    new Promise<"late">((resolve) => setTimeout(resolve, ms, "late").unref()),
  ]);
}
