import type { BacklogUsage } from "./target-backlog.js";

/** What a full target does with a new profile: `drop` it for that target alone, or `reject` the request. */
export type BacklogFullPolicy = "drop" | "reject";

/** Per-target bounds of the backlog; 0 = no bound. */
export interface BacklogBounds {
  maxProfiles: number;
  maxBytes: number;
  policy: BacklogFullPolicy;
}

/**
 * One ingest process's view of a target's backlog: the last reading from Redis (each flush's reply, and
 * a background poll) plus the profiles this process admitted since and has not written yet. Deciding
 * per profile from it costs no round trip; the price is that several processes may together pass a
 * bound by what each admitted within one reading's age. Pure: no I/O.
 */
export class BacklogView {
  /** The last reading of each queue shard of the target. */
  private readonly readings = new Map<number, BacklogUsage>();
  private readonly pending: BacklogUsage = { profiles: 0, bytes: 0 };

  usage(): BacklogUsage {
    const total = { ...this.pending };
    for (const reading of this.readings.values()) {
      total.profiles += reading.profiles;
      total.bytes += reading.bytes;
    }
    return total;
  }

  /** Whether one more profile fits: the backlog is below every bound (0 = none). */
  admits(bounds: Pick<BacklogBounds, "maxProfiles" | "maxBytes">): boolean {
    const { profiles, bytes } = this.usage();
    return !((bounds.maxProfiles > 0 && profiles >= bounds.maxProfiles) || (bounds.maxBytes > 0 && bytes >= bounds.maxBytes));
  }

  /** A profile of `bytes` was admitted and waits for its flush. */
  reserve(bytes: number): void {
    this.pending.profiles += 1;
    this.pending.bytes += bytes;
  }

  /** A flush carrying these reserved profiles ended: written (and in the next reading) or failed. */
  settle(usage: BacklogUsage): void {
    this.pending.profiles = Math.max(0, this.pending.profiles - usage.profiles);
    this.pending.bytes = Math.max(0, this.pending.bytes - usage.bytes);
  }

  /** A reading of queue shard `shard`; the target's backlog is the sum over its shards. */
  update(reading: BacklogUsage, shard = 0): void {
    this.readings.set(shard, reading);
  }
}
