import type { RedisConnection } from "./redis-connection.js";
import { readTargetBacklog } from "./target-backlog.js";
import { TargetLifecycles } from "./target-lifecycles.js";
import { recordedTargets } from "./target-registry.js";

/** A target's failed batches that share a failure kind. */
export interface FailedReason {
  reason: string;
  status?: number;
  /** Failed jobs: batches, or profiles split off a batch. */
  batches: number;
  /** Profiles in them. */
  profiles: number;
  /** Failure times, ms since the epoch. */
  oldestAt: number;
  newestAt: number;
  /** The detail of the newest failure of this kind: the start of the response body, or the error. */
  lastDetail: string;
}

export interface FailedSummary {
  target: string;
  batches: number;
  profiles: number;
  oldestAt?: number;
  newestAt?: number;
  /** Most profiles first. */
  reasons: FailedReason[];
}

/** Counts a target's failed batches (of all its queue shards) and their profiles by reason, a page at a time. */
export async function summarizeFailed(connection: RedisConnection, prefix: string, target: string, shards = 1): Promise<FailedSummary> {
  const lifecycles = new TargetLifecycles({ connection, prefix, target, shards });
  const groups = new Map<string, FailedReason>();
  try {
    for await (const page of lifecycles.failed()) {
      for (const { data, failure, failedAt } of page) {
        const profiles = data?.profiles.length ?? 0;
        const group = groups.get(failure.reason);
        if (group === undefined) {
          groups.set(failure.reason, {
            reason: failure.reason,
            ...(failure.status === undefined ? {} : { status: failure.status }),
            batches: 1,
            profiles,
            oldestAt: failedAt,
            newestAt: failedAt,
            lastDetail: failure.detail,
          });
          continue;
        }
        group.batches++;
        group.profiles += profiles;
        // Pages come oldest first: the current job is the newest so far.
        group.newestAt = failedAt;
        group.lastDetail = failure.detail;
      }
    }
  } finally {
    await lifecycles.close();
  }
  const reasons = [...groups.values()].sort((a, b) => b.profiles - a.profiles || b.batches - a.batches || a.reason.localeCompare(b.reason));
  const batches = reasons.reduce((sum, r) => sum + r.batches, 0);
  const profiles = reasons.reduce((sum, r) => sum + r.profiles, 0);
  if (reasons.length === 0) return { target, batches, profiles, reasons };
  return {
    target,
    batches,
    profiles,
    oldestAt: Math.min(...reasons.map((r) => r.oldestAt)),
    newestAt: Math.max(...reasons.map((r) => r.newestAt)),
    reasons,
  };
}

/** A target no longer in the configuration whose queue is still in Redis. */
export interface RemovedTargetSummary extends FailedSummary {
  removed: true;
  /** Profiles its queue still holds for delivery (waiting, delayed, active): no writer serves them. */
  waiting: number;
}

/** The failed batches and waiting profiles of every recorded target that is not in `configured`. */
export async function summarizeRemovedTargets(
  connection: RedisConnection,
  prefix: string,
  configured: readonly string[],
  shards = 1,
): Promise<RemovedTargetSummary[]> {
  const removed = (await recordedTargets(connection, prefix)).filter((target) => !configured.includes(target));
  const summaries: RemovedTargetSummary[] = [];
  for (const target of removed) summaries.push(await summarizeRemoved(connection, prefix, target, shards));
  return summaries;
}

/**
 * What an operator asked `failed` for: each of `asked`, a configured target or one a reload removed
 * (listed as removed, with what its queue still holds); without names, every configured target, then
 * every removed one. The caller has checked the names (see `removedTargets`).
 */
export async function summarizeAskedTargets(
  connection: RedisConnection,
  prefix: string,
  configured: readonly string[],
  asked: readonly string[],
  shards = 1,
): Promise<(FailedSummary | RemovedTargetSummary)[]> {
  const summaries: (FailedSummary | RemovedTargetSummary)[] = [];
  for (const target of asked.length === 0 ? configured : asked) {
    summaries.push(
      configured.includes(target) ? await summarizeFailed(connection, prefix, target, shards) : await summarizeRemoved(connection, prefix, target, shards),
    );
  }
  if (asked.length === 0) summaries.push(...(await summarizeRemovedTargets(connection, prefix, configured, shards)));
  return summaries;
}

/** Of `names`, those a reload removed from the configuration whose queues are still in Redis. */
export async function removedTargets(connection: RedisConnection, prefix: string, configured: readonly string[], names: readonly string[]): Promise<string[]> {
  const recorded = await recordedTargets(connection, prefix);
  return names.filter((name) => !configured.includes(name) && recorded.includes(name));
}

async function summarizeRemoved(connection: RedisConnection, prefix: string, target: string, shards: number): Promise<RemovedTargetSummary> {
  const { profiles } = await readTargetBacklog(connection, prefix, target, shards);
  return { ...(await summarizeFailed(connection, prefix, target, shards)), removed: true, waiting: profiles };
}
