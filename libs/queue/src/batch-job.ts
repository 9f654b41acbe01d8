import { Job, type JobsOptions } from "bullmq";
import type { ChainableCommander } from "ioredis";
import type { BatchJobData } from "./batch-data.js";
import { BATCH_JOB_NAME, TARGET_BACKOFF, type TargetQueue } from "./target-queue.js";

/** `attempts` for `max_backoff_retries = 0` (unbounded): at a 5 min cap, longer than any retention. */
export const UNBOUNDED_ATTEMPTS = 2 ** 31 - 1;

export type BatchJob = Job<BatchJobData, void, typeof BATCH_JOB_NAME>;

/** A MULTI on `queue`'s connection that BullMQ can add jobs to, and our own commands and scripts too. */
export interface BatchTransaction {
  /** The same MULTI, for our commands and scripts. */
  commands: ChainableCommander;
  /** Adds a batch job of `queue` (on the same connection) to the MULTI. */
  addJob(queue: TargetQueue, data: BatchJobData, jobId: string, attempts: number): Promise<void>;
}

/** Options of every batch job: the target's retry budget, removed once delivered, kept once failed. */
export function batchJobOptions(jobId: string, attempts: number): JobsOptions {
  return { jobId, attempts, backoff: { type: TARGET_BACKOFF }, removeOnComplete: true, removeOnFail: false };
}

/**
 * Starts a MULTI on the connection of `queue`. BullMQ's scripts are registered on that connection by
 * its queues, and `Job.addJob` adds its insert to a transaction given to it, so batch jobs (of any
 * queue on the same connection) are written together with the payload they refer to.
 */
export async function batchTransaction(queue: TargetQueue): Promise<BatchTransaction> {
  const multi = (await queue.getBackend().client).multi();
  return {
    commands: multi as unknown as ChainableCommander,
    addJob: async (queue, data, jobId, attempts) => {
      const job: BatchJob = new Job(queue, BATCH_JOB_NAME, data, batchJobOptions(jobId, attempts), jobId);
      await job.addJob(multi);
    },
  };
}

/** The job's attempts, as set when it was added. */
export function attemptsOf(job: Pick<BatchJob, "opts">): number {
  return job.opts.attempts ?? 1;
}
