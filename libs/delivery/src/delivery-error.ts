import { UnrecoverableError } from "bullmq";

/** A delivery attempt that may succeed later: the job is retried after a backoff. */
export class RetryableDeliveryError extends Error {
  override readonly name = "RetryableDeliveryError";

  /** No response at all (refused, reset, DNS...), as opposed to an error answer or a slow one. */
  readonly unreachable: boolean;

  constructor(
    readonly reason: string,
    /** How long the target asked us to wait (`Retry-After`), in milliseconds. */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown; unreachable?: boolean },
  ) {
    super(reason, options);
    this.unreachable = options?.unreachable ?? false;
  }
}

/**
 * A delivery that cannot succeed by retrying (e.g. 400): BullMQ fails the job at once and keeps
 * it, with its payload, for inspection and replay.
 */
export class PermanentDeliveryError extends UnrecoverableError {
  override readonly name = "PermanentDeliveryError";

  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason);
    if (options?.cause !== undefined) {
      this.cause = options.cause;
    }
  }
}
