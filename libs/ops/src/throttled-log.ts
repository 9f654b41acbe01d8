import type { Logger } from "./logger.js";

export const throttledLogIntervalMs = 10_000;

/**
 * Keys kept before the quiet ones are let go: a key may carry an error's message, and messages that
 * name a job or an address would otherwise pile up for the life of the process.
 */
const keptKeys = 256;

/**
 * Warnings that repeat while a condition lasts (a target's backlog full, Redis unavailable: with every
 * request, or with every bookkeeping step of a writer) are logged at most once per interval per key,
 * with how many times it happened since the previous line (a burst's last suppressed ones are not
 * logged; ingest's metrics count every one). Ingest has one per process, shared by its listeners; a
 * writer one per target.
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
    if (entry === undefined && this.last.size >= keptKeys) this.forgetQuiet(now);
    this.last.set(key, { loggedAt: now, count: 0 });
    this.logger.warn({ ...fields, count: (entry?.count ?? 0) + 1 }, message);
  }

  /** Lets go of the keys whose interval is over: their next line would be logged anyway (its count since then is lost). */
  private forgetQuiet(now: number): void {
    for (const [key, { loggedAt }] of this.last) if (now - loggedAt >= this.intervalMs) this.last.delete(key);
  }
}
