import { backoffDelay } from "./backoff.js";
import type { RetryableDeliveryError } from "./delivery-error.js";

/** A target may ask for a pause longer than our own backoff, but not for more than this. */
const maxPauseMs = 60 * 60 * 1000;

/**
 * The circuit breaker of one target. When the target says when to come back (`Retry-After` on a
 * 429 or 503) or cannot be reached at all, the whole queue pauses instead of every job burning an
 * attempt against it; consecutive unreachable failures lengthen the pause like the endpoint's
 * backoff. Any delivery closes the circuit again.
 */
export class TargetCircuit {
  private unreachableInARow = 0;

  constructor(
    private readonly minBackoffMs: number,
    private readonly maxBackoffMs: number,
  ) {}

  /** How long the target's queue should pause after this failure; undefined for a plain retry. */
  pauseFor(error: RetryableDeliveryError): number | undefined {
    if (error.retryAfterMs !== undefined) {
      return Math.min(Math.max(error.retryAfterMs, this.minBackoffMs), maxPauseMs);
    }
    if (error.unreachable) {
      this.unreachableInARow++;
      return backoffDelay(this.unreachableInARow, this.minBackoffMs, this.maxBackoffMs);
    }
    return undefined;
  }

  delivered(): void {
    this.unreachableInARow = 0;
  }
}
