import { backoffDelay } from "./backoff.js";
import type { DeliveryFailure } from "./delivery-error.js";

/** A target may ask for a pause longer than our own backoff, but not for more than this. */
const maxPauseMs = 60 * 60 * 1000;

/** A pause of a target's queue. */
export interface Pause {
  pauseMs: number;
  /**
   * The request that met it counts a try of each profile it carried (the job uses its attempt once
   * every profile left was tried): not when nobody answers.
   */
  usesAttempt: boolean;
}

/** When a failed request was sent and when its failure came, on one monotonic clock (ms). */
export interface FailedRequest {
  sentAt: number;
  failedAt: number;
}

/** Retryable error answers in a row after which a target counts as down, `Retry-After` or not. */
export const failuresBeforePause = 5;

/**
 * The circuit breaker of one target. When the target says when to come back (`Retry-After` on a
 * 429 or 503), cannot be reached at all, or keeps answering retryable errors, the whole queue
 * pauses instead of every job burning an attempt against it (the profiles whose request met it count
 * a try each, but where the target was out of reach); a streak of failures lengthens the pause like the
 * endpoint's backoff. Any delivery closes the circuit again.
 *
 * Requests in flight together fail together (a target restarting resets every connection): a
 * failure adds to the streak only if its request was sent after the last one counted, so a
 * writer's concurrency does not turn one outage into a streak of as many failures. Nor does one
 * sent before the pause under way ends: the queue's pause stops new jobs, not the requests of those
 * already running (up to 4 per queue shard), which a target that fails fast answered one after the
 * other, each doubling the pause: 266 s within 2 s of a target's first 503. Only a request sent
 * after the pause, trying the target again, lengthens it.
 */
export class TargetCircuit {
  private failuresInARow = 0;
  private lastCountedAt = Number.NEGATIVE_INFINITY;
  /** When the last pause decided ends, on the requests' clock. */
  private pausedUntil = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly minBackoffMs: number,
    private readonly maxBackoffMs: number,
  ) {}

  /**
   * How long the target's queue should pause after this retryable failure, and whether it counts as
   * a try too (the target answered: it asked for the pause, or keeps answering errors; not when it is
   * out of reach); undefined for a plain retry.
   */
  pauseFor(failure: Pick<DeliveryFailure, "retryAfterMs" | "unreachable">, request: FailedRequest): Pause | undefined {
    if (request.sentAt >= Math.max(this.lastCountedAt, this.pausedUntil)) {
      this.failuresInARow++;
      this.lastCountedAt = request.failedAt;
    }
    const pause = this.pauseAfter(failure);
    if (pause !== undefined) this.pausedUntil = Math.max(this.pausedUntil, request.failedAt + pause.pauseMs);
    return pause;
  }

  delivered(): void {
    this.failuresInARow = 0;
    this.lastCountedAt = Number.NEGATIVE_INFINITY;
    this.pausedUntil = Number.NEGATIVE_INFINITY;
  }

  /** The pause a failure calls for with the streak as it stands. */
  private pauseAfter(failure: Pick<DeliveryFailure, "retryAfterMs" | "unreachable">): Pause | undefined {
    if (failure.retryAfterMs !== undefined) {
      // The target answered the request: a try, as in Alloy, which retries a 429 or a 503 within
      // max_backoff_retries; the job waits for its backoff or the pause, the longer.
      return { pauseMs: Math.min(Math.max(failure.retryAfterMs, this.minBackoffMs), maxPauseMs), usesAttempt: true };
    }
    if (failure.unreachable) {
      return { pauseMs: backoffDelay(this.failuresInARow, this.minBackoffMs, this.maxBackoffMs), usesAttempt: false };
    }
    if (this.failuresInARow >= failuresBeforePause) {
      return { pauseMs: backoffDelay(this.failuresInARow - failuresBeforePause + 1, this.minBackoffMs, this.maxBackoffMs), usesAttempt: true };
    }
    return undefined;
  }
}
