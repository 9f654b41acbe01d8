import type { Redis } from "ioredis";
import { discardFailedJob } from "./discard-failed-job.js";
import { scanFailedJobs } from "./failed-job-scan.js";
import { PayloadStore } from "./payload-store.js";
import { targetQueue } from "./target-queue.js";

export interface PurgeOptions {
  connection: Redis;
  prefix: string;
  target: string;
  /** Only jobs that failed at least this many milliseconds ago; all of them when absent. */
  olderThanMs?: number;
  pageSize?: number;
}

export interface PurgeResult {
  /** Failed jobs removed. */
  purged: number;
  /** Stored profiles deleted because no other target still owed them. */
  payloadsDeleted: number;
}

/** Deletes a target's failed jobs, oldest first, releasing their claims on the payloads. */
export async function purgeFailed(options: PurgeOptions): Promise<PurgeResult> {
  const { connection, prefix, target } = options;
  const queue = targetQueue(connection, prefix, target);
  const store = new PayloadStore(connection, prefix);
  const result: PurgeResult = { purged: 0, payloadsDeleted: 0 };
  try {
    const to = Date.now() - (options.olderThanMs ?? 0);
    for await (const page of scanFailedJobs(connection, queue, { to, pageSize: options.pageSize })) {
      for (const { job } of page) {
        const { removed, payloadDeleted } = await discardFailedJob(connection, queue, store, target, job);
        if (removed) result.purged++;
        if (payloadDeleted) result.payloadsDeleted++;
      }
    }
    return result;
  } finally {
    await queue.close();
  }
}
