import { randomUUID } from "node:crypto";
import type { TargetConfig } from "@pyroscope-relay/config";
import type { Job, JobsOptions } from "bullmq";
import type { BatchJobData, DrainJobData } from "./batch-data.js";
import { BATCH_JOB_NAME, TARGET_BACKOFF, type TargetQueue } from "./target-queue.js";

/** `attempts` for `max_backoff_retries = 0` (unbounded): at a 5 min cap, longer than any retention. */
export const UNBOUNDED_ATTEMPTS = 2 ** 31 - 1;

/** What a job of a target's queue carries: a batch (failed, split off, or of an earlier version), or a drain job's claim. */
export type QueuedJobData = BatchJobData | DrainJobData;

export type BatchJob = Job<QueuedJobData, void, typeof BATCH_JOB_NAME>;

/** The BullMQ deduplication id of every drain job: per queue, one waits at most (see `drainJobOptions`). */
export const DRAIN_DEDUPLICATION_ID = "drain";

/** Options of every batch job: the target's retry budget, removed once delivered, kept once failed. */
export function batchJobOptions(jobId: string, attempts: number): JobsOptions {
  return { jobId, attempts, backoff: { type: TARGET_BACKOFF }, removeOnComplete: true, removeOnFail: false };
}

/**
 * A drain job's options: a batch job's, deduplicated by BullMQ. Until a drain job claims (or a writer
 * holds it back, see batch-worker.ts), adding another does nothing: it will claim the new segment
 * too. Its claim ends the deduplication (the claim script deletes BullMQ's key), so the next flush
 * adds the next one.
 */
export function drainJobOptions(jobId: string, attempts: number): JobsOptions {
  return { ...batchJobOptions(jobId, attempts), deduplication: { id: DRAIN_DEDUPLICATION_ID } };
}

/** A drain job's id: its flush's batch id (or a fresh one), marked, so that no failed job of a batch takes it. */
export function drainJobId(batchId: string = randomUUID()): string {
  return `${batchId}.drain`;
}

/** A glob (Redis `MATCH`) that every drain job's id matches, and no other job's. */
export const DRAIN_JOB_IDS = "*.drain";

/** Whether `data` is a drain job's. */
export function isDrain(data: QueuedJobData | undefined): data is DrainJobData {
  return (data as Partial<DrainJobData> | undefined)?.drain === true;
}

/** Adds a drain job to `queue` (BullMQ deduplicates it, see `drainJobOptions`). */
export async function addDrainJob(queue: TargetQueue, attempts: number, jobId = drainJobId()): Promise<void> {
  await queue.add(BATCH_JOB_NAME, { drain: true }, drainJobOptions(jobId, attempts));
}

/** The `attempts` of a target's jobs: its `max_backoff_retries`, 0 meaning unbounded. */
export function attemptsFor(target: Pick<TargetConfig, "maxBackoffRetries">): number {
  return target.maxBackoffRetries === 0 ? UNBOUNDED_ATTEMPTS : target.maxBackoffRetries;
}

/** The job's attempts, as set when it was added. */
export function attemptsOf(job: Pick<BatchJob, "opts">): number {
  return job.opts.attempts ?? 1;
}
