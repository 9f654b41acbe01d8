import type { RelayStatus } from "./admin-types.js";

/** Even with the same counts (one batch failed as another was removed), a list this old is read again. */
const maxAgeMs = 60_000;

/**
 * Whether to read the failed list again (GET /failed pages through every failed batch, while the
 * status is a few counters): when a target's failed count changed since the previous status, or the
 * list is older than a minute, or there is none yet (`readAt`, on the status' clock).
 */
export function failedListStale(previous: RelayStatus | undefined, current: RelayStatus, readAt: number | undefined): boolean {
  if (previous === undefined || readAt === undefined || current.time - readAt >= maxAgeMs) return true;
  const before = new Map(previous.targets.map((t) => [t.target, t.jobs.failed]));
  return current.targets.some((t) => before.get(t.target) !== t.jobs.failed);
}
