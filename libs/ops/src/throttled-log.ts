import type { Logger } from "./logger.js";

export const throttledLogIntervalMs = 10_000;

/**
 * Warnings that repeat with every request while a condition lasts (a target's backlog full, Redis
 * unavailable) are logged at most once per interval per key, with how many times it happened since
 * the previous line; the metrics count every one. One per process, shared by its listeners.
 */
export class ThrottledLog {
  private readonly last = new Map<string, { loggedAt: number; count: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = throttledLogIntervalMs,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const now = this.now();
    const entry = this.last.get(key);
    if (entry !== undefined && now - entry.loggedAt < this.intervalMs) {
      entry.count++;
      return;
    }
    this.last.set(key, { loggedAt: now, count: 0 });
    this.logger.warn({ ...fields, count: (entry?.count ?? 0) + 1 }, message);
  }
}
