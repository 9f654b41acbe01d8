import type { Redis } from "ioredis";
import { scanFailedJobs } from "./failed-job-scan.js";
import { parseFailureReason } from "./failure-reason.js";
import { targetQueue } from "./target-queue.js";

/** The failed jobs of one target that share a failure kind. */
export interface FailureGroup {
  reason: string;
  status?: number;
  count: number;
  /** Failure times, ms since the epoch. */
  oldestAt: number;
  newestAt: number;
  /** The detail of the newest failure of this kind: the start of the response body, or the error. */
  lastDetail: string;
}

export interface FailedSummary {
  target: string;
  total: number;
  oldestAt?: number;
  newestAt?: number;
  /** Largest group first. */
  reasons: FailureGroup[];
}

/** Counts a target's failed jobs by reason, a page at a time. */
export async function summarizeFailed(connection: Redis, prefix: string, target: string): Promise<FailedSummary> {
  const queue = targetQueue(connection, prefix, target);
  const groups = new Map<string, FailureGroup>();
  let total = 0;
  try {
    for await (const page of scanFailedJobs(connection, queue)) {
      for (const { job, failedAt } of page) {
        total++;
        const { reason, status, detail } = parseFailureReason(job.failedReason);
        const group = groups.get(reason);
        if (group === undefined) {
          groups.set(reason, { reason, ...(status === undefined ? {} : { status }), count: 1, oldestAt: failedAt, newestAt: failedAt, lastDetail: detail });
          continue;
        }
        group.count++;
        // Pages come oldest first: the current job is the newest so far.
        group.newestAt = failedAt;
        group.lastDetail = detail;
      }
    }
  } finally {
    await queue.close();
  }
  const reasons = [...groups.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  if (reasons.length === 0) return { target, total, reasons };
  return {
    target,
    total,
    oldestAt: Math.min(...reasons.map((r) => r.oldestAt)),
    newestAt: Math.max(...reasons.map((r) => r.newestAt)),
    reasons,
  };
}
