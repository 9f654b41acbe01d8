/**
 * The time a replay or purge acts as of: the one asked for (a dry run's), never later than now; the
 * batches it acts on are those whose failure time, as the writers' clocks recorded it, is not later.
 */
export function asOfNow(asked?: number): number {
  return Math.min(asked ?? Number.POSITIVE_INFINITY, Date.now());
}
