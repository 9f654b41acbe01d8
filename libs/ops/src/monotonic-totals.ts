/**
 * Totals read from Redis, exported as counters that never go down. Redis can lose its last increments
 * (a failover to a replica that had not received them); a counter that then reads lower is a reset
 * to Prometheus, which counts the whole total as new: a spike in `rate()`, and a false alarm on the
 * dropped profiles. A total that reads lower than before is carried on from where it was, and what it
 * gains afterwards adds to that. Kept per process: one that starts exports Redis' totals as they are.
 */
export class MonotonicTotals {
  private readonly seen = new Map<string, { read: number; offset: number }>();

  /** The counter's value for the total read as `read` under `key`. */
  value(key: string, read: number): number {
    const last = this.seen.get(key);
    const offset = last === undefined ? 0 : last.offset + Math.max(0, last.read - read);
    this.seen.set(key, { read, offset });
    return read + offset;
  }
}
