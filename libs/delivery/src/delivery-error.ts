import type { FailureReason } from "@pyroscope-relay/queue";

/**
 * How one request to a target failed, with everything the retry decision needs: built where the
 * answer or the error is classified (`attempt`), read as it is by the circuit and the job's outcome.
 */
export interface DeliveryFailure {
  /** `retry`: may pass later (after a backoff, or a pause of the queue); `permanent`: fails for good. */
  kind: "retry" | "permanent";
  /** What the job records: `http 503`, the status the target answered, the start of its body. */
  failure: FailureReason;
  /** How long the target asked us to wait (`Retry-After` on a retryable answer). */
  retryAfterMs?: number;
  /** Nobody answers where the request must go: the circuit opens. */
  unreachable: boolean;
  /** A permanent refusal of what a Push carried (see Outcome): a combined one is narrowed down. */
  refusesContent?: true;
}

/**
 * A request the relay could not make, for a reason it names itself: a secret file it cannot read,
 * the oauth2 token endpoint, the proxy refusing the tunnel. Thrown through the HTTP client, where
 * `instanceof` tells it from a transport error; retried like one. `reason` is what failures are
 * grouped by (`oauth2 http 503`); the message, kept as the failure's detail, names the file or
 * endpoint at fault and never a secret.
 */
export class DeliveryError extends Error {
  override readonly name = "DeliveryError";
  /** Nobody answers where every request must go first: the target counts as unreachable. */
  readonly unreachable: boolean;
  /** The status the oauth2 token endpoint answered, when it did (not the target's): the form may work instead. */
  readonly status: number | undefined;

  constructor(
    readonly reason: string,
    detail: string,
    options: { unreachable?: boolean; status?: number; cause?: unknown } = {},
  ) {
    super(detail, options.cause === undefined ? {} : { cause: options.cause });
    this.unreachable = options.unreachable ?? false;
    this.status = options.status;
  }
}
