import { Code } from "@connectrpc/connect";
import { RequestError } from "@pyroscope-relay/ops";
import type { RelayMetrics } from "@pyroscope-relay/ops";
import type { ThrottledLog } from "@pyroscope-relay/ops";

/** Bodies free as the requests holding them are answered, within a flush or two. */
const INFLIGHT_BODIES_RETRY_AFTER_S = 1;

/**
 * The request body bytes the receivers of one process hold in memory at once, bounded by
 * `--ingest.max-inflight-body-size` (0: no bound): many concurrent large bodies, each held until its
 * profile is stored, could otherwise take the process out of memory. Each request takes its bytes
 * through a BodyHold and gives them back once when it is finished with.
 *
 * A body alone in the process is never refused, whatever its size (within `--ingest.max-body-size`):
 * a bound below the body limit would otherwise refuse such a profile for ever.
 */
export class BodyBudget {
  #held = 0;

  constructor(
    readonly maxBytes: number,
    private readonly metrics: RelayMetrics,
    private readonly warnings: ThrottledLog,
  ) {
    metrics.inflightBodyBytesLimit.set(maxBytes);
    metrics.readInflightBodyBytes(() => this.#held);
  }

  /** The body bytes held now, by every request of the process. */
  get heldBytes(): number {
    return this.#held;
  }

  /** One request's hold, with the labels its refusal counts under. */
  hold(component: string, api: string): BodyHold {
    return new BodyHold(this, component, api);
  }

  /** BodyHold's: adds `bytes` for a request holding `own` already, unless that passes the bound while other requests hold bodies. */
  admit(bytes: number, own: number): boolean {
    if (this.maxBytes > 0 && this.#held + bytes > this.maxBytes && this.#held > own) return false;
    this.#held += bytes;
    return true;
  }

  /** BodyHold's: gives back what a request held. */
  free(bytes: number): void {
    this.#held -= bytes;
  }

  /** 503 with Retry-After for a body of `bodyBytes` that `admit` refused: counted, logged at most once per interval. */
  refusal(component: string, api: string, bodyBytes: number, own: number): RequestError {
    const others = this.#held - own;
    this.metrics.inflightBodyRefused.inc({ component, api });
    this.warnings.warn(
      "inflight-bodies",
      { component, api, heldBytes: others, bodyBytes, maxBytes: this.maxBytes },
      "request bodies refused (503): the bodies held in memory are at --ingest.max-inflight-body-size",
    );
    return new RequestError(
      Code.Unavailable,
      `the relay holds ${others} bytes of request bodies in memory, and this body's ${bodyBytes} bytes would take it past its bound (--ingest.max-inflight-body-size) of ${this.maxBytes} bytes: the profile was not stored, retry later`,
      { retryAfterSeconds: INFLIGHT_BODIES_RETRY_AFTER_S },
    );
  }
}

/** The body bytes one request holds against its process' BodyBudget. */
export class BodyHold {
  #bytes = 0;
  #released = false;

  constructor(
    private readonly budget: BodyBudget,
    private readonly component: string,
    private readonly api: string,
  ) {}

  /**
   * Takes `bytes` more for the body: undefined when taken, else the error to answer with (nothing
   * taken). Once released, the request is finished with and whatever still arrives is not held.
   */
  take(bytes: number): RequestError | undefined {
    if (this.#released || bytes === 0) return undefined;
    if (!this.budget.admit(bytes, this.#bytes)) return this.budget.refusal(this.component, this.api, this.#bytes + bytes, this.#bytes);
    this.#bytes += bytes;
    return undefined;
  }

  /** Gives back every byte taken; the first call only, however many paths end the request. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.budget.free(this.#bytes);
  }
}
