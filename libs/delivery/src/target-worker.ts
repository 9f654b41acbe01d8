import { Worker } from "bullmq";
import type { Job } from "bullmq";
import type { Redis } from "ioredis";
import type { TargetConfig } from "@pyroscope-relay/config";
import type { Logger, RelayMetrics } from "@pyroscope-relay/ops";
import { jobData, queueNameFor } from "@pyroscope-relay/queue";
import type { JobData, PayloadStore } from "@pyroscope-relay/queue";
import { backoffDelay } from "./backoff.js";
import { PermanentDeliveryError, RetryableDeliveryError } from "./delivery-error.js";
import { deliverIngest } from "./ingest-delivery.js";
import { deliverPush } from "./push-delivery.js";
import { TargetClient } from "./target-client.js";

/** A target may ask for a pause longer than our own backoff, but not for more than this. */
const maxRetryAfterMs = 60 * 60 * 1000;

export interface TargetWorkerOptions {
  target: TargetConfig;
  connection: Redis;
  payloads: PayloadStore;
  prefix: string;
  concurrency: number;
  logger: Logger;
  metrics: RelayMetrics;
}

/** Delivers one target's queue: one BullMQ worker with the endpoint's retry schedule. */
export class TargetWorker {
  private readonly worker: Worker<JobData>;
  private readonly client: TargetClient;
  private readonly logger: Logger;
  /** Releases started by `completed` events; BullMQ does not wait for its listeners. */
  private readonly releasing = new Set<Promise<void>>();
  private closing: Promise<void> | undefined;

  constructor(private readonly options: TargetWorkerOptions) {
    const { target } = options;
    this.client = new TargetClient(target);
    this.logger = options.logger.child({ target: target.name });
    this.worker = new Worker<JobData>(queueNameFor(target.name), (job) => this.process(job), {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      // A forwarder's job should survive a few worker crashes before it is declared failed.
      maxStalledCount: 5,
      settings: { backoffStrategy: (attemptsMade, _type, err) => this.backoff(attemptsMade, err) },
    });
    this.worker.on("completed", (job) => this.track(this.release(job)));
    this.worker.on("failed", (job, err) => this.failed(job, err));
    this.worker.on("error", (err) => this.logger.error({ err }, "worker error"));
  }

  private async process(job: Job<JobData>): Promise<void> {
    const data = jobData.parse(job.data);
    const payload = await this.options.payloads.get(data.payloadId);
    if (payload === null) {
      throw new PermanentDeliveryError("payload expired: the stored profile is gone (TTL or purge)");
    }
    const started = performance.now();
    const { target, metrics } = this.options;
    if (data.kind === "ingest") {
      await deliverIngest(this.client, target, data, payload);
    } else {
      const seriesDone = typeof job.progress === "number" ? job.progress : 0;
      await deliverPush(this.client, target, data, payload, seriesDone, (count) => job.updateProgress(count));
    }
    const labels = { target: target.name, endpoint: target.url };
    metrics.writeLatency.observe(labels, (performance.now() - started) / 1000);
    metrics.writeSentBytes.inc(labels, payload.length);
    metrics.writeSentProfiles.inc(labels);
  }

  private backoff(attemptsMade: number, err: Error | undefined): number {
    const { minBackoffMs, maxBackoffMs } = this.options.target;
    const delay = backoffDelay(attemptsMade, minBackoffMs, maxBackoffMs);
    const asked = err instanceof RetryableDeliveryError ? err.retryAfterMs : undefined;
    return asked === undefined ? delay : Math.max(delay, Math.min(asked, maxRetryAfterMs));
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
  }

  private failed(job: Job<JobData> | undefined, err: Error): void {
    const { target, metrics } = this.options;
    if (job === undefined) {
      return;
    }
    const labels = { target: target.name, endpoint: target.url };
    const final = err instanceof PermanentDeliveryError || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (final) {
      metrics.writeDroppedProfiles.inc(labels);
      metrics.writeDroppedBytes.inc(labels, job.data.payloadSize);
      this.logger.warn({ jobId: job.id, attempts: job.attemptsMade, reason: err.message }, "delivery failed; job kept for replay");
    } else {
      metrics.writeRetries.inc(labels);
      this.logger.debug({ jobId: job.id, attempts: job.attemptsMade, reason: err.message }, "delivery will be retried");
    }
  }

  /**
   * Stops fetching new jobs and waits for the active ones and their payload releases (without
   * that wait the caller may close the connection under a release, leaving the payload to its TTL).
   * Idempotent: a second call (e.g. a second signal) waits for the same shutdown, since closing the
   * HTTP client twice would throw.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.worker.close();
      await Promise.all(this.releasing);
      await this.client.close();
    })();
    return this.closing;
  }
}
