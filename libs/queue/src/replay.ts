import { ErrorCode } from "bullmq";
import type { Redis } from "ioredis";
import { scanFailedJobs, type TargetJob } from "./failed-job-scan.js";
import { matchesFailure, parseFailureReason } from "./failure-reason.js";
import { jobData } from "./job-data.js";
import { PayloadStore } from "./payload-store.js";
import { TargetBacklog } from "./target-backlog.js";
import { targetQueue } from "./target-queue.js";

export interface ReplayOptions {
  connection: Redis;
  prefix: string;
  target: string;
  /** The payload's TTL from now on, as at enqueue (`--queue.payload-ttl`). */
  payloadTtlMs: number;
  /** A failure kind or its leading words (`http 400`, `http`, `network`); see `matchesFailure`. */
  reason?: string;
  status?: number;
  /** Only jobs that failed within this many milliseconds before now. */
  sinceMs?: number;
  /** Replay at most this many jobs (oldest first). */
  limit?: number;
  /** Count what would happen and change nothing. */
  dryRun?: boolean;
  onProgress?: (progress: ReplayProgress) => void;
  pageSize?: number;
}

export interface ReplayResult {
  /** Moved back to waiting with a full retry budget (or, in a dry run, would have been). */
  replayed: number;
  /** Matched, but the stored profile is gone (TTL or purge): left in `failed`. */
  skipped: number;
  /** Did not match the filters, or left the failed list before their turn (replayed or purged meanwhile). */
  notMatched: number;
}

export interface ReplayProgress extends ReplayResult {
  /** Failed jobs looked at so far, and the number there were when the replay started. */
  examined: number;
  total: number;
}

type Outcome = keyof ReplayResult;

/**
 * Moves a target's matching failed jobs back to waiting, oldest first: the target owes the payload
 * again (pending set) and the payload gets a fresh TTL, then the job is retried with its attempts
 * reset. Jobs that fail after the replay started are not looked at, so a job failing again at once is
 * not replayed twice; a job another replay or a writer took first is counted as not matched. Safe to
 * run twice and while writers run.
 */
export async function replayFailed(options: ReplayOptions): Promise<ReplayResult> {
  const { connection, prefix, target, limit, dryRun = false } = options;
  const startedAt = Date.now();
  const from = options.sinceMs === undefined ? undefined : startedAt - options.sinceMs;
  const queue = targetQueue(connection, prefix, target);
  const store = new PayloadStore(connection, prefix);
  const backlog = new TargetBacklog(connection, prefix, target);
  const filter = { reason: options.reason, status: options.status };

  const replayOne = async (job: TargetJob): Promise<Outcome> => {
    const data = jobData.safeParse(job.data);
    if (!data.success) return "skipped";
    const { payloadId, payloadSize } = data.data;
    if (dryRun) return (await store.exists(payloadId)) ? "replayed" : "skipped";
    // Claim before retrying: a writer could otherwise deliver and release before the claim exists,
    // leaving a claim that nobody releases (the payload would stay until its TTL). The backlog
    // counts the job back in first for the same reason; replay does not check its bounds.
    if (!(await store.reclaim(payloadId, target, options.payloadTtlMs))) return "skipped";
    await backlog.add(payloadSize);
    try {
      // A replay is a fresh start: the writer's maximum age (`expired`) counts from now.
      await job.updateData({ ...data.data, replayedAt: Date.now() });
      await job.retry("failed", { resetAttemptsMade: true });
      return "replayed";
    } catch (error) {
      await backlog.release(payloadSize);
      const code = (error as { code?: unknown }).code;
      if (code === ErrorCode.JobNotExist || code === ErrorCode.JobNotInState) return "notMatched";
      throw error;
    }
  };

  try {
    const total = await connection.zcount(queue.toKey("failed"), "-inf", startedAt);
    const tooOld = from === undefined ? 0 : await connection.zcount(queue.toKey("failed"), "-inf", `(${from}`);
    const progress: ReplayProgress = { replayed: 0, skipped: 0, notMatched: tooOld, examined: tooOld, total };
    scan: for await (const page of scanFailedJobs(connection, queue, { from, to: startedAt, pageSize: options.pageSize })) {
      for (const { job } of page) {
        if (limit !== undefined && progress.replayed >= limit) break scan;
        const outcome = matchesFailure(parseFailureReason(job.failedReason), filter) ? await replayOne(job) : "notMatched";
        progress[outcome]++;
        progress.examined++;
        options.onProgress?.({ ...progress });
      }
    }
    return { replayed: progress.replayed, skipped: progress.skipped, notMatched: progress.notMatched };
  } finally {
    await queue.close();
  }
}
