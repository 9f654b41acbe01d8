import { Job } from "bullmq";
import type { RedisConnection } from "./redis-connection.js";
import { batchJobData, type BatchJobData } from "./batch-data.js";
import { isDrain, type BatchJob } from "./batch-job.js";
import { reasonFromText, type FailureReason } from "./failure-reason.js";
import type { TargetQueue } from "./target-queue.js";

export interface FailedJob {
  job: BatchJob;
  /**
   * The job's data; undefined when it cannot be read (not written by this relay), and for a drain job
   * whose claim cannot be read back: its profiles are unknown.
   */
  data: BatchJobData | undefined;
  /** Why it failed: as the writer recorded it, or BullMQ's own reason (a job that stalled too often). */
  failure: FailureReason;
  /** When it failed (ms since the epoch): its score in the queue's `failed` set. */
  failedAt: number;
}

export interface FailedJobScan {
  /** Only jobs that failed at or after this time (ms since the epoch). */
  from?: number;
  /** Only jobs that failed at or before this time; a replay sets it so that a job failing again is not seen twice. */
  to?: number;
  pageSize?: number;
}

const defaultPageSize = 100;

/** The failure of a drain job whose claim cannot be read back. */
export const UNREADABLE_CLAIM = "unreadable claim";

/**
 * Pages through a target's failed jobs, oldest first, never holding more than a page. BullMQ scores the
 * `failed` set by failure time; the cursor is the last score seen plus the ids seen at that score, so
 * jobs leaving the set (replayed, purged) or joining it meanwhile neither shift nor repeat a page, as
 * offsets would. A job whose hash vanished between listing and loading is left out, and so is a
 * drain job that BullMQ failed: it is no failed batch, but the claim of many, which the writers split
 * off into failed batches (see BatchWorker); replayed or purged as one, its claim would go unreleased.
 * One a writer found it cannot split off (its claim cannot be read back) is listed, as unreadable.
 */
export async function* scanFailedJobs(connection: RedisConnection, queue: TargetQueue, scan: FailedJobScan = {}): AsyncGenerator<FailedJob[]> {
  const pageSize = scan.pageSize ?? defaultPageSize;
  const max = scan.to === undefined ? "+inf" : String(scan.to);
  let min = scan.from === undefined ? "-inf" : String(scan.from);
  let boundary = Number.NaN;
  let seenAtBoundary = new Set<string>();
  for (;;) {
    const flat = await connection.zrangebyscore(queue.toKey("failed"), min, max, "WITHSCORES", "LIMIT", 0, pageSize + seenAtBoundary.size);
    const entries: { id: string; failedAt: number }[] = [];
    for (let i = 0; i + 1 < flat.length && entries.length < pageSize; i += 2) {
      const id = flat[i]!;
      const failedAt = Number(flat[i + 1]);
      if (failedAt === boundary && seenAtBoundary.has(id)) continue;
      entries.push({ id, failedAt });
    }
    const last = entries.at(-1);
    if (last === undefined) return;
    if (last.failedAt !== boundary) seenAtBoundary = new Set();
    boundary = last.failedAt;
    for (const entry of entries) if (entry.failedAt === boundary) seenAtBoundary.add(entry.id);
    min = String(boundary);

    const jobs = await Promise.all(entries.map(({ id }) => Job.fromId<BatchJobData, void, "batch">(queue, id)));
    const page: FailedJob[] = [];
    entries.forEach(({ failedAt }, i) => {
      const job = jobs[i];
      if (job === undefined) return;
      if (isDrain(job.data)) {
        const { unreadable } = job.data;
        if (unreadable !== undefined) page.push({ job, data: undefined, failure: { reason: UNREADABLE_CLAIM, detail: unreadable }, failedAt });
        return;
      }
      const parsed = batchJobData.safeParse(job.data);
      const data = parsed.success ? parsed.data : undefined;
      page.push({ job, data, failure: data?.failure ?? reasonFromText(job.failedReason), failedAt });
    });
    if (page.length > 0) yield page;
  }
}
