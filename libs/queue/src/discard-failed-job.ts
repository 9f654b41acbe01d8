import type { Redis } from "ioredis";
import { jobData } from "./job-data.js";
import type { PayloadStore } from "./payload-store.js";
import type { TargetJob } from "./failed-job-scan.js";
import type { TargetQueue } from "./target-queue.js";

export interface Discarded {
  removed: boolean;
  /** The target held the payload's last claim: the stored profile is deleted too. */
  payloadDeleted: boolean;
}

/**
 * Removes a failed job and releases its target's claim on the payload. The job goes first: when the
 * process dies in between, the payload TTL reclaims the bytes, while the other order could leave a
 * job that a replay would find without its payload. Taking the job out of the failed set first is the
 * atomic claim: a replay that moved it to waiting meanwhile wins, and the job is left alone; a replay
 * coming after finds it gone from failed and skips it.
 */
export async function discardFailedJob(
  connection: Redis,
  queue: TargetQueue,
  store: PayloadStore,
  target: string,
  job: TargetJob,
): Promise<Discarded> {
  if ((await connection.zrem(queue.toKey("failed"), job.id!)) !== 1) return { removed: false, payloadDeleted: false };
  if ((await queue.remove(job.id!)) !== 1) {
    // A writer holds it after all: put it back where it was.
    await connection.zadd(queue.toKey("failed"), job.finishedOn ?? Date.now(), job.id!);
    return { removed: false, payloadDeleted: false };
  }
  const data = jobData.safeParse(job.data);
  if (!data.success) return { removed: true, payloadDeleted: false };
  return { removed: true, payloadDeleted: (await store.release(data.data.payloadId, target)) === "deleted" };
}
