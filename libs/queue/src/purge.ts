import { asOfNow } from "./as-of.js";
import { matchesFailure } from "./failure-reason.js";
import type { RedisConnection } from "./redis-connection.js";
import { TargetLifecycles } from "./target-lifecycles.js";

export interface PurgeOptions {
  connection: RedisConnection;
  prefix: string;
  target: string;
  /** The target's queue shards, 1 by default. */
  shards?: number;
  /** Only batches that failed at least this many milliseconds before `asOfMs`; all of them when absent. */
  olderThanMs?: number;
  /**
   * Only batches that had failed by this time (ms since the epoch; now when absent, and never later):
   * a purge given its dry run's time deletes the batches the dry run counted, not later failures.
   */
  asOfMs?: number;
  /** Count what would be removed and change nothing (`payloadsDeleted` stays 0: that depends on the other jobs then). */
  dryRun?: boolean;
  /** Only batches whose failure is this kind or starts with its words, as replay's; see `matchesFailure`. */
  reason?: string;
  /** `reason` matched whole, not by its leading words. */
  exactReason?: boolean;
  /** Only batches that failed with this HTTP status. */
  status?: number;
  pageSize?: number;
}

export interface PurgeResult {
  /** Failed batches removed (or, in a dry run, that would be). */
  purged: number;
  /** Profiles in them. */
  purgedProfiles: number;
  /** Stored profiles deleted because no other job still held them. */
  payloadsDeleted: number;
}

/**
 * Deletes a target's failed batches (those matching the filters), oldest first, and the stored
 * profiles nothing else holds.
 */
export async function purgeFailed(options: PurgeOptions): Promise<PurgeResult> {
  const { connection, prefix, target, shards, dryRun = false } = options;
  const lifecycles = new TargetLifecycles({ connection, prefix, target, shards });
  const result: PurgeResult = { purged: 0, purgedProfiles: 0, payloadsDeleted: 0 };
  try {
    const to = asOfNow(options.asOfMs) - (options.olderThanMs ?? 0);
    const filter = { reason: options.reason, exactReason: options.exactReason, status: options.status };
    for await (const page of lifecycles.failed({ to, pageSize: options.pageSize })) {
      for (const failed of page) {
        if (!matchesFailure(failed.failure, filter)) continue;
        if (dryRun) {
          result.purged++;
          result.purgedProfiles += (await lifecycles.of(failed.job).usageOf(failed)).profiles;
          continue;
        }
        const { removed, profiles, payloadsDeleted } = await lifecycles.of(failed.job).discard(failed, "purge");
        if (!removed) continue;
        result.purged++;
        result.purgedProfiles += profiles;
        result.payloadsDeleted += payloadsDeleted;
      }
    }
    return result;
  } finally {
    await lifecycles.close();
  }
}
