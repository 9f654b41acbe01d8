import { asOfNow } from "./as-of.js";
import type { RedisConnection } from "./redis-connection.js";
import type { FailedJob } from "./failed-job-scan.js";
import { matchesFailure } from "./failure-reason.js";
import type { ReplayOutcome } from "./job-lifecycle.js";
import { TargetLifecycles } from "./target-lifecycles.js";

export interface ReplayOptions {
  connection: RedisConnection;
  prefix: string;
  target: string;
  /** The target's queue shards, 1 by default. */
  shards?: number;
  /** The profiles' TTL from now on, as at enqueue (`--queue.payload-ttl`). */
  payloadTtlMs: number;
  /** A failure kind or its leading words (`http 400`, `http`, `network`); see `matchesFailure`. */
  reason?: string;
  /** `reason` matched whole, not by its leading words. */
  exactReason?: boolean;
  status?: number;
  /** Only batches that failed within this many milliseconds before `asOfMs`. */
  sinceMs?: number;
  /**
   * Only batches that had failed by this time (ms since the epoch; now when absent, and never later):
   * a replay given its dry run's time acts on the batches the dry run counted, not on later failures.
   */
  asOfMs?: number;
  /** Replay at most this many failed batches (oldest first). */
  limit?: number;
  /** Count what would happen and change nothing. */
  dryRun?: boolean;
  onProgress?: (progress: ReplayProgress) => void;
  pageSize?: number;
}

export interface ReplayResult {
  /** Failed batches moved back to waiting with a full retry budget (or, in a dry run, that would be). */
  replayed: number;
  /** Profiles in them. */
  replayedProfiles: number;
  /** Matched, but their stored profiles are gone (TTL or purge): left in `failed`. */
  skipped: number;
  /** Did not match the filters, or left the failed list before their turn (replayed or purged meanwhile). */
  notMatched: number;
}

export interface ReplayProgress extends ReplayResult {
  /** Failed batches looked at so far, and the number there were when the replay started. */
  examined: number;
  total: number;
}

/**
 * Moves a target's matching failed batches back to waiting, oldest first (see `JobLifecycle.replay`).
 * Batches that fail after the replay started (or after `asOfMs`) are not looked at, and none is replayed twice by one
 * run, so a batch failing again at once is not replayed in a loop, whatever the writers' clocks; one that another replay or a purge took first is counted as not matched. Safe
 * to run twice and while writers run.
 */
export async function replayFailed(options: ReplayOptions): Promise<ReplayResult> {
  const { connection, prefix, target, shards, limit, dryRun = false } = options;
  const asOf = asOfNow(options.asOfMs);
  const from = options.sinceMs === undefined ? undefined : asOf - options.sinceMs;
  const lifecycles = new TargetLifecycles({ connection, prefix, target, shards });
  const filter = { reason: options.reason, exactReason: options.exactReason, status: options.status };

  const replayOne = async (failed: FailedJob): Promise<ReplayOutcome> => {
    const { job, data } = failed;
    if (data === undefined) return "skipped";
    const lifecycle = lifecycles.of(job);
    if (dryRun) return (await lifecycle.replayable(data)) ? "replayed" : "skipped";
    return lifecycle.replay({ ...failed, data }, options.payloadTtlMs);
  };

  try {
    const total = await lifecycles.countFailed("-inf", asOf);
    const tooOld = from === undefined ? 0 : await lifecycles.countFailed("-inf", `(${from}`);
    const progress: ReplayProgress = { replayed: 0, replayedProfiles: 0, skipped: 0, notMatched: tooOld, examined: tooOld, total };
    // A batch this run replayed may fail again with a score below `asOf` (a writer's clock
    // behind this one) and ahead of the scan: it is not looked at twice.
    const replayed = new Set<string>();
    scan: for await (const page of lifecycles.failed({ from, to: asOf, pageSize: options.pageSize })) {
      for (const failed of page) {
        if (limit !== undefined && progress.replayed >= limit) break scan;
        if (replayed.has(failed.job.id!)) continue;
        const outcome = matchesFailure(failed.failure, filter) ? await replayOne(failed) : "notMatched";
        progress[outcome]++;
        if (outcome === "replayed") {
          replayed.add(failed.job.id!);
          progress.replayedProfiles += failed.data?.profiles.length ?? 0;
        }
        progress.examined++;
        options.onProgress?.({ ...progress });
      }
    }
    return { replayed: progress.replayed, replayedProfiles: progress.replayedProfiles, skipped: progress.skipped, notMatched: progress.notMatched };
  } finally {
    await lifecycles.close();
  }
}
