import { setTimeout as sleep } from "node:timers/promises";
import { DelayedError, RateLimitError, UnrecoverableError, Worker } from "bullmq";
import type { RedisConnection } from "./redis-connection.js";
import { batchJobData, type BatchJobData, type ProfileRef } from "./batch-data.js";
import { attemptsOf, isDrain, type BatchJob } from "./batch-job.js";
import { BatchProgress, type FailureGroup } from "./batch-progress.js";
import type { AttemptOutcome, BatchDelivery } from "./delivery-port.js";
import { UnreadableClaimError } from "./errors.js";
import { describeFailure, reasonFromText, type FailureReason } from "./failure-reason.js";
import { JobLifecycle } from "./job-lifecycle.js";
import { JobWork } from "./job-work.js";
import { ProgressRecorder } from "./progress-recorder.js";
import { isRedisError } from "./redis-error.js";
import type { SharedChunks } from "./shared-chunks.js";
import { usageOf } from "./target-backlog.js";
import { LIMITER_MAX, pauseQueue } from "./target-pause.js";
import { type BATCH_JOB_NAME, TARGET_BACKOFF } from "./target-queue.js";

/** What a batch worker tells its owner (logs and metrics); every hook is optional. */
export interface BatchWorkerObserver {
  /** An attempt left profiles for a retry after a backoff. */
  retrying?(event: { jobId: string; attempt: number; profiles: number; failure: FailureReason }): void;
  /** Profiles failed for good: they are kept in a failed job for replay. */
  failed?(event: { jobId: string; profiles: number; bytes: number; attempts: number; failure: FailureReason }): void;
  /**
   * The target's queue pauses (circuit breaker): every writer of the target stops taking jobs.
   * `profiles` go back to wait for it without using an attempt; 0 when the job used one (`retrying`
   * reports them) or failed on its last.
   */
  paused?(event: { jobId: string; pauseMs: number; profiles: number; failure: FailureReason | undefined }): void;
  /**
   * A drain job ends (completes, or is removed once BullMQ failed it) having claimed segments whose
   * batch's references were gone: twice the payload TTL passed, or a drain job whose claim a failover
   * lost delivered them and let go of the batch. Neither delivered nor failed by this job; the
   * segments claimed with them went out.
   */
  lost?(event: { jobId: string; batches: { batch: string; profiles: number }[] }): void;
  /** Bookkeeping that could not be done; the TTLs and the backlog's reset cover it. */
  error?(error: unknown, context: string): void;
}

export interface BatchWorkerOptions {
  target: string;
  /** The target's queue shards (`--target.queue-shards`, 1 by default): the worker consumes all of them. */
  shards?: number;
  /** The target's retry budget (`attemptsFor`): the drain jobs the worker adds get it. */
  attempts: number;
  /** A `worker` connection (`maxRetriesPerRequest: null`), shared with BullMQ; the worker does not own it. */
  connection: RedisConnection;
  prefix: string;
  /** Batch jobs in delivery at once, per queue shard, up to `MAX_JOBS_AT_ONCE`. */
  concurrency: number;
  deliver: BatchDelivery;
  /** How long to wait before retry `retry` (1 for the first). */
  backoffMs: (retry: number) => number;
  /** A profile that failed for good keeps its bytes at least this long (retention may remove it sooner). */
  failedPayloadTtlMs: number;
  /** Profiles older than this fail as `expired` without an attempt; 0 = never. */
  maxAgeMs?: number;
  /** How long `close()` waits for active jobs before aborting them and handing them back to waiting. */
  shutdownGraceMs?: number;
  /** Least time between two saves of a job's progress during its deliveries. */
  progressIntervalMs?: number;
  /**
   * A drain job claims no sooner than this after it was added (0, at once, by default): the flushes of
   * that span go out in its claim instead of each in a job of its own (`--writer.claim-delay`).
   */
  claimDelayMs?: number;
  /** Batch chunks read once for every target of the process, shared by their workers (see SharedChunks). */
  sharedChunks?: SharedChunks;
  observer?: BatchWorkerObserver;
}

/** Default `progressIntervalMs`: what a crash may make a target receive twice, beyond what was in flight. */
export const PROGRESS_INTERVAL_MS = 50;

/**
 * How often a worker looks for segments that wait with no drain job to claim them (a writer died
 * between a drain job's claim and adding the next).
 */
const DRAIN_SWEEP_MS = 5_000;

/**
 * How often a worker looks for drain jobs that BullMQ failed and nobody split off (the writer that
 * saw them fail died first, or Redis failed it meanwhile); every worker also looks as it starts.
 */
const FAILED_DRAIN_SWEEP_MS = 60_000;

/**
 * Batch jobs in delivery at once per queue shard, however many requests the target may have in
 * flight: a drain job sends with all of them and the next claims once its requests have started,
 * so more jobs at once would only hold more payloads in memory (a replay of many failed batches)
 * and leave more of them waiting for a crashed writer's locks.
 */
const MAX_JOBS_AT_ONCE = 4;

/**
 * The longest a drain job holds the next back: an attempt that takes longer (a delivery stuck on
 * a target, Redis failing over under it) lets the next one claim anyway.
 */
const DRAIN_HOLD_MAX_MS = 5_000;

/** How long shutdown waits for Redis after the grace: to hand back aborted deliveries and finish pending bookkeeping. */
export const HAND_BACK_MS = 5_000;

/**
 * The least an attempt that met a Redis error before sending waits before the next (otherwise as long
 * as the target's first retry): a worker does not spin on a Redis that keeps refusing.
 */
const REDIS_RETRY_MIN_MS = 1_000;

const PAYLOAD_GONE: FailureReason = { reason: "payload expired", detail: "the stored profile is gone (TTL or purge)" };

/** What a profile left undelivered without a retryable failure (a delivery that skipped it) fails with. */
const UNREPORTED: FailureReason = { reason: "error", detail: "the delivery left profiles undelivered" };

/**
 * What a profile that a job's progress says was tried `max_backoff_retries` times fails with when it
 * says no failure (a writer that saved the tries died before it failed them).
 */
const TRIES_SPENT: FailureReason = { reason: "error", detail: "sent max_backoff_retries times, each met a retryable failure; the last one was not saved" };

/** The job failed for good and was settled; BullMQ keeps it in `failed`. */
class FinalFailure extends UnrecoverableError {
  constructor(readonly failure: FailureReason) {
    super(describeFailure(failure));
    this.name = "FinalFailure";
  }
}

/** The attempt left profiles to retry; BullMQ retries the job after the backoff. */
class RetryLater extends Error {
  override readonly name = "RetryLater";

  constructor(readonly failure: FailureReason) {
    super(describeFailure(failure));
  }
}

/**
 * The attempt met a Redis error (its `cause`) before it sent the target anything: the job went back to
 * `delayed` without using an attempt (a DelayedError, which BullMQ leaves as it is), or, when even that
 * failed, is left to BullMQ's stalled-job recovery.
 */
class RedisPostponed extends DelayedError {
  constructor(override readonly cause: unknown) {
    super(`Redis failed before anything was sent: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** Whether an attempt has handed anything to the delivery: from then on its errors use the attempt. */
interface Sending {
  began: boolean;
}

/**
 * Consumes one target's queue, a BullMQ worker per queue shard. A drain job first claims the segments
 * that wait for the target (the same ones on every later attempt); a batch job (failed and replayed,
 * or of an earlier version) has its batch. Per attempt the worker loads the profiles left to deliver,
 * a round trip per batch, hands them to the delivery, saves what was delivered as the job's progress,
 * splits profiles that failed for good off into failed jobs of their own (one per batch), and
 * completes, retries, pauses or fails the job. Every change to what a job holds goes through
 * `JobLifecycle`.
 */
export class BatchWorker {
  private readonly workers: Worker<BatchJob["data"], void, typeof BATCH_JOB_NAME>[];
  /** Each shard's lifecycle, by BullMQ queue name (a job's `queueName`). */
  private readonly lifecycles = new Map<string, JobLifecycle>();
  private readonly stopping = new AbortController();
  /** Aborted as `close()` begins: a drain job waiting out its claim delay claims at once. */
  private readonly shuttingDown = new AbortController();
  private readonly observer: BatchWorkerObserver;
  /** Bookkeeping started without waiting (completions, conversions after BullMQ's own failures). */
  private readonly pending = new Set<Promise<void>>();
  /**
   * Per queue shard, when the last drain job that started here will have sent all it claimed (or
   * held the next back for `DRAIN_HOLD_MAX_MS`): the next one claims only then, so that flushes that
   * come meanwhile go out in one job.
   */
  private readonly handoffs = new Map<JobLifecycle, Promise<void>>();
  private closing: Promise<void> | undefined;
  private readonly sweepers: NodeJS.Timeout[];
  /** Failed drain jobs being split off here, by id: the failed event and a sweep may both find one. */
  private readonly settlingDrains = new Set<string>();

  constructor(private readonly options: BatchWorkerOptions) {
    this.observer = options.observer ?? {};
    this.workers = Array.from({ length: options.shards ?? 1 }, (_, shard) => {
      const { connection, prefix, target, sharedChunks } = options;
      const lifecycle = new JobLifecycle({ connection, prefix, target, shard, sharedChunks });
      this.lifecycles.set(lifecycle.queue.name, lifecycle);
      const worker = new Worker<BatchJob["data"], void, typeof BATCH_JOB_NAME>(lifecycle.queue.name, (job, token) => this.process(job, token), {
        connection: options.connection,
        prefix: options.prefix,
        concurrency: Math.min(options.concurrency, MAX_JOBS_AT_ONCE),
        // A forwarder's job should survive a few worker crashes before it is declared failed.
        maxStalledCount: 5,
        // A crashed writer's jobs come back after about two of these instead of BullMQ's minute;
        // the lock is renewed every half period, so long deliveries keep theirs.
        lockDuration: 15_000,
        stalledInterval: 15_000,
        limiter: { max: LIMITER_MAX, duration: 1_000 },
        settings: {
          backoffStrategy: (attemptsMade, type) => (type === TARGET_BACKOFF ? options.backoffMs(attemptsMade) : 0),
        },
      });
      worker.on("failed", (job, error) => {
        if (job !== undefined) this.failedInBullMQ(job, error);
      });
      worker.on("error", (error) => this.observer.error?.(error, "worker"));
      return worker;
    });
    const sweep = () => {
      for (const lifecycle of this.lifecycles.values()) this.drainPending(lifecycle);
    };
    const sweepFailed = () => {
      for (const lifecycle of this.lifecycles.values()) this.track(this.settleFailedDrains(lifecycle), "fail");
    };
    this.sweepers = [setInterval(sweep, DRAIN_SWEEP_MS).unref(), setInterval(sweepFailed, FAILED_DRAIN_SWEEP_MS).unref()];
    sweep();
    sweepFailed();
  }

  get target(): string {
    return this.options.target;
  }

  /**
   * Stops taking jobs and waits for the active ones; after the grace period their deliveries are
   * aborted and they go back to waiting without using an attempt. Idempotent.
   */
  close(): Promise<void> {
    this.shuttingDown.abort();
    this.closing ??= (async () => {
      for (const sweeper of this.sweepers) clearInterval(sweeper);
      const { shutdownGraceMs = 20_000 } = this.options;
      let workersClosed = false;
      const graceful = Promise.all(this.workers.map((worker) => worker.close())).then(() => {
        workersClosed = true;
      });
      if ((await within(graceful, shutdownGraceMs)) === "late") {
        this.observer.error?.(new Error(`deliveries still active ${shutdownGraceMs} ms after shutdown began: handing them back`), "shutdown");
        this.stopping.abort();
      }
      // Handing back and the bookkeeping still pending share one bound: with Redis unreachable neither
      // ends, and the process must still exit within its container's grace (compose gives a writer 30 s).
      // Jobs not handed back are recovered as stalled once their locks expire; the TTLs reclaim what
      // the bookkeeping would have released.
      if (
        (await within(
          graceful.then(() => Promise.all(this.pending)),
          HAND_BACK_MS,
        )) === "late"
      ) {
        if (!workersClosed) {
          this.observer.error?.(new Error("could not hand active jobs back (Redis unreachable?): leaving them to stalled-job recovery"), "shutdown");
        }
        if (this.pending.size > 0) {
          this.observer.error?.(new Error("bookkeeping still pending at shutdown: the TTLs reclaim what it would have released"), "shutdown");
        }
      }
      await Promise.all([...this.lifecycles.values()].map((lifecycle) => lifecycle.close()));
    })();
    return this.closing;
  }

  /**
   * Runs one attempt at `job` (whose lock is `token`). One that meets a Redis error before it sends the
   * target anything (its claim, loading its payloads, settling a failed job) uses no attempt: an error of
   * Redis is not the target's, and must not fail the job's profiles for good on its last attempt.
   */
  private async process(job: BatchJob, token: string | undefined): Promise<void> {
    const sending: Sending = { began: false };
    try {
      return await this.run(job, sending);
    } catch (error) {
      if (sending.began || !isRedisError(error)) throw error;
      return this.postpone(job, token, error);
    }
  }

  private async run(job: BatchJob, sending: Sending): Promise<void> {
    if (!isDrain(job.data)) return this.attempt(job, sending);
    const lifecycle = this.lifecycleOf(job);
    const previous = this.handoffs.get(lifecycle);
    let handOff: () => void = () => undefined;
    const sent = new Promise<void>((resolve) => (handOff = resolve));
    const holdLimit = setTimeout(() => handOff(), DRAIN_HOLD_MAX_MS).unref();
    const next = (previous ?? Promise.resolve()).then(() => sent);
    this.handoffs.set(lifecycle, next);
    try {
      if (previous !== undefined) {
        // Waiting here, this job would keep later flushes to itself, lost with the process if it
        // died: they get a drain job of their own, which any writer can take.
        await lifecycle.releaseDeduplication(job);
        await previous;
      }
      return await this.attempt(job, sending, handOff);
    } finally {
      clearTimeout(holdLimit);
      handOff();
      if (this.handoffs.get(lifecycle) === next) this.handoffs.delete(lifecycle);
    }
  }

  /**
   * Sends `job` back to `delayed` for as long as the target's first retry waits (at least
   * `REDIS_RETRY_MIN_MS`) with its attempts and its progress as they are. A hand-back that Redis refuses
   * is tried again after as long, the job kept (its lock renewed) until it succeeds or shutdown gives
   * up; one that fails otherwise (its lock lost to the stalled-job check) leaves the job to BullMQ's
   * recovery, which moves it back to waiting without using an attempt either.
   */
  private async postpone(job: BatchJob, token: string | undefined, error: unknown): Promise<never> {
    this.observer.error?.(error, "redis");
    const delayMs = Math.max(this.options.backoffMs(1), REDIS_RETRY_MIN_MS);
    for (;;) {
      try {
        await job.moveToDelayed(Date.now() + delayMs, token);
        break;
      } catch (handBackError) {
        if (!isRedisError(handBackError) || this.stopping.signal.aborted) {
          this.observer.error?.(handBackError, "redis");
          break;
        }
        await sleep(delayMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    }
    throw new RedisPostponed(error);
  }

  /**
   * One attempt at a job; `sending` says once the delivery has its profiles. A drain job calls `handOff`
   * once it has sent all it claimed.
   */
  private async attempt(job: BatchJob, sending: Sending, handOff: () => void = () => undefined): Promise<void> {
    const lifecycle = this.lifecycleOf(job);
    let work: JobWork;
    let data: BatchJobData | undefined;
    if (isDrain(job.data)) {
      await this.claimDelay(job);
      // Shutting down: back to waiting as it is, without claiming what another writer can take.
      if (this.stopping.signal.aborted) throw Worker.RateLimitError();
      const claim = await lifecycle.claim(job).catch(async (error: unknown) => {
        // Never transient: failed at once, it is listed as it is instead of retried for ever.
        if (error instanceof UnreadableClaimError) throw new UnrecoverableError(error.message);
        // Waiting for its retry, it would keep later flushes to itself for as long: they get a drain
        // job of their own (the claim is atomic, so it took nothing or all it will ever take). The
        // claim's error is the attempt's; a release that fails too leaves the key to the retry.
        await lifecycle.releaseDeduplication(job).catch(() => undefined);
        // Not when the job goes back to wait for a Redis that refuses: a drain job added for each
        // such claim would meet the same refusal and add another, as many as the outage lasts.
        if (!isRedisError(error)) this.drainPending(lifecycle);
        throw error;
      });
      if (claim === undefined) throw new FinalFailure({ reason: "invalid job", detail: "the drain job is gone" });
      if (claim.more) this.drainPending(lifecycle);
      work = JobWork.ofDrain(claim.claimed);
    } else {
      const parsed = batchJobData.safeParse(job.data);
      if (!parsed.success)
        throw new FinalFailure({
          reason: "invalid job",
          detail: parsed.error.issues.map((issue) => `${issue.path.map(String).join(".") || "data"}: ${issue.message}`).join("; "),
        });
      data = parsed.data;
      if (data.failure !== undefined) {
        // Split off, or failed before a crash cut its settling short: fail it (again) at once.
        await lifecycle.settleFailed(job, data, this.options.failedPayloadTtlMs);
        throw new FinalFailure(data.failure);
      }
      work = JobWork.ofBatch(data);
    }
    const progress = BatchProgress.restore(work.profiles, job.progress);
    this.expire(data?.replayedAt, progress);
    const budget = attemptsOf(job);
    // Tried as often as the target allows, by an attempt that ended before it failed them.
    progress.failExhausted(budget, TRIES_SPENT);
    const payloads = await lifecycle.load(work, progress.pending());
    progress.failRemaining(
      progress.pending().filter((ref) => !payloads.has(ref.index)),
      PAYLOAD_GONE,
    );
    const outgoing = progress.pending().map((ref) => ({ ref, payload: payloads.get(ref.index)!, handledParts: progress.handledParts(ref.index) }));
    try {
      let outcome: AttemptOutcome = {};
      if (outgoing.length > 0) {
        const recorder = new ProgressRecorder(job, progress, this.options.progressIntervalMs ?? PROGRESS_INTERVAL_MS, (error) =>
          this.observer.error?.(error, "progress"),
        );
        const report = {
          delivered: (index: number, parts: readonly number[]) => {
            progress.delivered(index, parts);
            recorder.changed();
          },
          failed: (index: number, parts: readonly number[], failure: FailureReason) => progress.failedForGood(index, parts, failure),
          // Saved with the next save (at the latest, the attempt's end): a try is no Redis write.
          retried: (index: number, parts: readonly number[], failure: FailureReason) => progress.retried(index, parts, failure),
          dispatched: handOff,
        };
        try {
          sending.began = true;
          outcome = await this.options.deliver(outgoing, report, this.stopping.signal);
        } finally {
          await recorder.stop();
          // Whatever ends the attempt: saved as failed (`unsplit`) if an error of ours does.
          progress.failExhausted(budget, TRIES_SPENT);
        }
      }
      await this.finish(job, work, data, progress, outcome);
    } catch (error) {
      // An error of ours (a Redis error while settling, say) ends the attempt in BullMQ's hands (or,
      // a Redis error with nothing sent, in `postpone`'s): the next attempt, or the split-off of a job
      // BullMQ failed, reads what this one delivered from the progress saved, which the recorder's
      // interval may have left behind by up to 50 ms.
      if (!(error instanceof FinalFailure || error instanceof RetryLater || error instanceof RateLimitError)) {
        await job.updateProgress(progress.toJSON()).catch((saveError: unknown) => this.observer.error?.(saveError, "progress"));
      }
      throw error;
    }
  }

  /**
   * Waits until drain job `job` is `claimDelayMs` old, or shutdown begins. Under load a job is older
   * than that when it starts. The wait is bounded by the delay whatever the clocks of the process that
   * added the job and of this one say.
   */
  private async claimDelay(job: BatchJob): Promise<void> {
    const { claimDelayMs = 0 } = this.options;
    const waitMs = Math.min(claimDelayMs, job.timestamp + claimDelayMs - Date.now());
    if (waitMs > 0) await sleep(waitMs, undefined, { signal: this.shuttingDown.signal }).catch(() => undefined);
  }

  /** Profiles queued longer than the maximum age fail as `expired` without an attempt. */
  private expire(replayedAt: number | undefined, progress: BatchProgress): void {
    const { maxAgeMs = 0 } = this.options;
    if (maxAgeMs <= 0) return;
    const now = Date.now();
    const expired = progress.pending().filter((ref) => now - (replayedAt ?? ref.receivedAt) > maxAgeMs);
    // Pyroscope rejects profiles older than its ingestion window: fail them now, replayable later.
    progress.failRemaining(expired, { reason: "expired", detail: `queued longer than the maximum age of ${maxAgeMs} ms` });
  }

  /**
   * Ends the attempt: complete, hand back, retry later, or fail for good. `data`: a batch job's. A
   * pause the target asked for uses the job's attempt only when the attempt tried every profile left:
   * one it stopped before their turn goes back without, since an attempt counts against every
   * profile left (and on the last, fails them), where each profile tried counted its own try.
   */
  private async finish(job: BatchJob, work: JobWork, data: BatchJobData | undefined, progress: BatchProgress, outcome: AttemptOutcome): Promise<void> {
    const left = progress.pending();
    const handBack = this.stopping.signal.aborted || (outcome.pauseMs !== undefined && (outcome.pauseUsesAttempt !== true || progress.cutShort()));
    if (left.length > 0 && (handBack || job.attemptsMade + 1 < attemptsOf(job))) {
      await this.splitOff(job, work, progress.failureGroups());
      progress.clearFailures();
      await job.updateProgress(progress.toJSON());
      if (this.stopping.signal.aborted) throw Worker.RateLimitError();
      if (outcome.pauseMs !== undefined) {
        // A job that uses an attempt reports its profiles as retrying, once.
        await this.pause(job, outcome.pauseMs, handBack ? left.length : 0, outcome.retry);
        if (handBack) throw Worker.RateLimitError();
      }
      const failure = outcome.retry ?? UNREPORTED;
      this.observer.retrying?.({ jobId: job.id!, attempt: job.attemptsMade + 1, profiles: left.length, failure });
      throw new RetryLater(failure);
    }
    // The last attempt: the circuit opens all the same, for the target's other batches (at best: a
    // failure to pause must not keep what is left from failing); what is left fails for good with
    // the last retryable failure.
    if (outcome.pauseMs !== undefined) {
      await this.pause(job, outcome.pauseMs, 0, outcome.retry).catch((error: unknown) => this.observer.error?.(error, "pause"));
    }
    progress.failRemaining(left, outcome.retry ?? UNREPORTED);
    if (data === undefined) {
      await this.splitOffAtEnd(job, work, progress);
      this.reportLost(job, work);
      this.track(this.lifecycleOf(job).complete(job, work, progress.failedProfiles()), "complete");
      return;
    }
    const failure = await this.failForGood(job, work, data, progress);
    if (failure === undefined) {
      this.track(this.lifecycleOf(job).complete(job, work, progress.failedProfiles()), "complete");
      return;
    }
    throw new FinalFailure(failure);
  }

  /** Opens the target's circuit for `pauseMs`; `profiles` of `job` go back to wait for it. */
  private async pause(job: BatchJob, pauseMs: number, profiles: number, failure: FailureReason | undefined): Promise<void> {
    // Every shard: the circuit is the target's.
    const { connection, prefix } = this.options;
    await Promise.all([...this.lifecycles.keys()].map((queue) => pauseQueue(connection, prefix, queue, pauseMs)));
    this.observer.paused?.({ jobId: job.id!, pauseMs, profiles, failure });
  }

  /** Each failure group goes into failed jobs of its own (one per batch); the job carries on with the rest. */
  private async splitOff(job: BatchJob, work: JobWork, groups: readonly FailureGroup[], named?: Set<string>): Promise<void> {
    for (const group of groups) {
      for (const split of await this.lifecycleOf(job).splitOff(job, work, group, this.options.failedPayloadTtlMs, named)) {
        this.reportFailed(split.id, split.refs, job.attemptsMade + 1, split.failure);
      }
    }
  }

  /**
   * A drain job's last attempt: every failure group is split off, each batch's first into a failed job
   * named after the batch; the drain job itself completes.
   */
  private async splitOffAtEnd(job: BatchJob, work: JobWork, progress: BatchProgress): Promise<void> {
    await this.splitOff(job, work, progress.failureGroups(), new Set());
  }

  /**
   * A batch job has nothing left to deliver. Without failures it is done (undefined). Otherwise it
   * fails for good with its largest failure group and splits the others off; returns the failure it keeps.
   */
  private async failForGood(job: BatchJob, work: JobWork, data: BatchJobData, progress: BatchProgress): Promise<FailureReason | undefined> {
    const [kept, ...others] = progress.failureGroups();
    if (kept === undefined) return undefined;
    await this.splitOff(job, work, others);
    const done = data.profiles.filter((ref) => !kept.refs.some((failed) => failed.index === ref.index));
    await this.lifecycleOf(job).fail(job, data, kept, done, this.options.failedPayloadTtlMs);
    this.reportFailed(job.id!, kept.refs, job.attemptsMade + 1, kept.failure);
    return kept.failure;
  }

  /**
   * BullMQ reports every failed attempt. Ours were settled in `process`; what is left is BullMQ failing
   * a job by itself (an error of ours on the last attempt once it sent something: a Redis error before
   * that never reaches BullMQ, see `process`; or stalled too often: BullMQ marks such a
   * job and fails it as the next worker takes it): its profiles fail for good here, as they would
   * have in `process`.
   */
  private failedInBullMQ(job: BatchJob, error: Error): void {
    if (error instanceof FinalFailure || error instanceof RetryLater) return;
    const failure = reasonFromText(error.message);
    const final = error instanceof UnrecoverableError || job.attemptsMade >= attemptsOf(job);
    if (isDrain(job.data)) {
      if (final) this.track(this.settleFailedDrain(job, failure), "fail");
      else this.observer.retrying?.({ jobId: job.id!, attempt: job.attemptsMade, profiles: 0, failure });
      return;
    }
    const parsed = batchJobData.safeParse(job.data);
    if (!parsed.success || parsed.data.failure !== undefined) return;
    const data = parsed.data;
    if (!final) {
      this.observer.retrying?.({ jobId: job.id!, attempt: job.attemptsMade, profiles: data.profiles.length, failure });
      return;
    }
    const work = JobWork.ofBatch(data);
    const progress = BatchProgress.restore(work.profiles, job.progress);
    progress.failRemainingAsBefore(progress.pending(), failure);
    this.track(
      this.failForGood(job, work, data, progress).then(() => undefined),
      "fail",
    );
  }

  /** Splits off every drain job of the shard that BullMQ failed and nobody split off; one that cannot be is reported and skipped. */
  private async settleFailedDrains(lifecycle: JobLifecycle): Promise<void> {
    for (const { id, unreadable } of await lifecycle.failedDrains()) {
      // Listed failed as it is, for purge and retention.
      if (unreadable) continue;
      try {
        const job = await lifecycle.queue.getJob(id);
        // Split off and removed meanwhile, by this writer or another.
        if (job === undefined || !isDrain(job.data)) continue;
        await this.settleFailedDrain(job, reasonFromText(job.failedReason));
      } catch (error) {
        this.observer.error?.(error, "fail");
      }
    }
  }

  /** `failDrain`, once at a time per job in this process; a job whose claim cannot be read is marked so. */
  private async settleFailedDrain(job: BatchJob, failure: FailureReason): Promise<void> {
    const id = job.id!;
    if (this.settlingDrains.has(id)) return;
    this.settlingDrains.add(id);
    try {
      await this.failDrain(job, failure);
    } catch (error) {
      if (error instanceof UnreadableClaimError) await this.lifecycleOf(job).markUnreadable(job, error);
      throw error;
    } finally {
      this.settlingDrains.delete(id);
    }
  }

  /**
   * A drain job BullMQ failed: what it claimed and did not deliver is split off into failed jobs, and
   * the drain job goes (a failed job is a batch's, for replay and purge); the next takes what waits.
   * Each step is idempotent: a writer that dies halfway leaves the rest to the next one's sweep.
   */
  private async failDrain(job: BatchJob, failure: FailureReason): Promise<void> {
    const lifecycle = this.lifecycleOf(job);
    const work = JobWork.ofDrain((await lifecycle.claimed(job.id!)) ?? []);
    const progress = BatchProgress.restore(work.profiles, job.progress);
    progress.failRemainingAsBefore(progress.pending(), failure);
    await this.splitOffAtEnd(job, work, progress);
    this.reportLost(job, work);
    await lifecycle.removeFailedDrain(job, work, progress.failedProfiles());
    await lifecycle.drainPending(this.options.attempts);
  }

  /** At a drain job's end, once, as it counts them out: the profiles it claimed whose batch was gone. */
  private reportLost(job: BatchJob, work: JobWork): void {
    if (work.lostSegments.length === 0) return;
    this.observer.lost?.({ jobId: job.id!, batches: work.lostSegments.map(({ batch, lost }) => ({ batch, profiles: lost })) });
  }

  /** Adds a drain job if segments wait for one, in the background. */
  private drainPending(lifecycle: JobLifecycle): void {
    this.track(lifecycle.drainPending(this.options.attempts), "drain");
  }

  private lifecycleOf(job: BatchJob): JobLifecycle {
    const lifecycle = this.lifecycles.get(job.queueName);
    if (lifecycle === undefined) throw new Error(`job ${job.id} of queue ${job.queueName} is not this worker's`);
    return lifecycle;
  }

  private reportFailed(jobId: string, refs: readonly ProfileRef[], attempts: number, failure: FailureReason): void {
    const { profiles, bytes } = usageOf(refs);
    this.observer.failed?.({ jobId, profiles, bytes, attempts, failure });
  }

  private track(work: Promise<void>, context: string): void {
    const tracked = work.catch((error: unknown) => this.observer.error?.(error, context)).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }
}

function within(work: Promise<unknown>, ms: number): Promise<"done" | "late"> {
  return Promise.race([work.then(() => "done" as const), new Promise<"late">((resolve) => setTimeout(resolve, ms, "late").unref())]);
}
