import { backoffDelay } from "./backoff.js";
import type { DeliveryFailure } from "./delivery-error.js";

/** A target may ask for a pause longer than our own backoff, but not for more than this. */
const maxPauseMs = 60 * 60 * 1000;

/** Retryable error answers in a row after which a target counts as down, `Retry-After` or not. */
export const failuresBeforePause = 5;

/**
 * The circuit breaker of one target. When the target says when to come back (`Retry-After` on a
 * 429 or 503), cannot be reached at all, or keeps answering retryable errors, the whole queue
 * pauses instead of every job burning an attempt against it; a streak of failures lengthens the
 * pause like the endpoint's backoff. Any delivery closes the circuit again.
 */
export class TargetCircuit {
  private failuresInARow = 0;

  constructor(
    private readonly minBackoffMs: number,
    private readonly maxBackoffMs: number,
  ) {}

  /** How long the target's queue should pause after this retryable failure; undefined for a plain retry. */
  pauseFor(failure: Pick<DeliveryFailure, "retryAfterMs" | "unreachable">): number | undefined {
    this.failuresInARow++;
    if (failure.retryAfterMs !== undefined) {
      return Math.min(Math.max(failure.retryAfterMs, this.minBackoffMs), maxPauseMs);
    }
    if (failure.unreachable) {
      return backoffDelay(this.failuresInARow, this.minBackoffMs, this.maxBackoffMs);
    }
    if (this.failuresInARow >= failuresBeforePause) {
      return backoffDelay(this.failuresInARow - failuresBeforePause + 1, this.minBackoffMs, this.maxBackoffMs);
    }
    return undefined;
  }

  delivered(): void {
    this.failuresInARow = 0;
  }
}
