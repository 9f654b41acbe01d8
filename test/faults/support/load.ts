import { setTimeout as sleep } from "node:timers/promises";
import { gzippedPprof } from "@pyroscope-relay/testing";

/** One POST /ingest as the client saw it. */
export interface Attempt {
  id: string;
  /** The number its body was made for (LoadOptions.body). */
  n: number;
  /** `Date.now()` when the request was started and when its answer (or error) arrived. */
  startedAt: number;
  endedAt: number;
  /** The HTTP status, or "error" when no answer came (connection refused or reset, timeout). */
  status: number | "error";
  retryAfter?: string | null;
}

export interface LoadOptions {
  /** The receiver's base URL, e.g. `http://127.0.0.1:4041`. */
  url: string;
  /** Prefix of every profile ID, unique per test so that stray deliveries are recognisable. */
  tag: string;
  /**
   * The body of profile number `n`, which a resend asks for again with the `n` of the attempt it
   * repeats; by default one small gzipped pprof shared by all.
   */
  body?: (n: number) => Buffer;
  /** Per-request bound, so that a hung relay cannot hang the test. */
  timeoutMs?: number;
}

export interface SteadyLoad {
  /** Stops sending and waits for the requests still in flight. */
  stop(): Promise<void>;
}

/** The label that carries a profile's ID through the relay, in the `/ingest` name. */
export const idLabel = "fid";
const app = "fault";
const defaultBody = gzippedPprof({ seed: 7 });

/**
 * Sends `/ingest` profiles, each with a unique ID in its name (`fault{fid=<tag>-<n>}`), and records
 * the outcome of every request. Only a 2xx counts as acknowledged: that is the relay's promise.
 */
export class LoadGenerator {
  readonly attempts: Attempt[] = [];
  /** Acknowledged IDs, mapped to the time their request was started. */
  readonly acked = new Map<string, number>();
  private next = 0;
  private readonly inFlight = new Set<Promise<Attempt>>();

  constructor(private readonly options: LoadOptions) {}

  get tag(): string {
    return this.options.tag;
  }

  /** Sends the next profile (or the one with `id`, e.g. a poison profile). */
  send(id = `${this.options.tag}-${String(this.next).padStart(6, "0")}`): Promise<Attempt> {
    return this.sendNumbered(id, this.next++);
  }

  /** `count` profiles, one after the other. */
  async sendSequentially(count: number): Promise<Attempt[]> {
    const done: Attempt[] = [];
    for (let i = 0; i < count; i++) done.push(await this.send());
    return done;
  }

  /**
   * About `rate` profiles per second until stopped. At most `maxInFlight` requests are open at once
   * (ticks beyond that are skipped), so a stuck relay cannot pile up sockets on a shared machine.
   */
  steady(rate: number, maxInFlight = 32): SteadyLoad {
    // Unref'd: a test that fails before it stops the load must not keep its file from exiting.
    const timer = setInterval(() => {
      if (this.inFlight.size < maxInFlight) void this.send();
    }, 1000 / rate).unref();
    return {
      stop: async () => {
        clearInterval(timer);
        await this.settle();
      },
    };
  }

  /**
   * Sends the profiles of `refused` again, each with the body of its refused attempt, as a client does
   * after a 503 with Retry-After, until it is acknowledged (every `everyMs`, for at most
   * `timeoutMs`); resolves with the IDs still not acknowledged then, none when the relay took them all.
   */
  async resend(refused: readonly Attempt[], timeoutMs = 15_000, everyMs = 500): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    let left = [...new Map(refused.map((attempt) => [attempt.id, attempt.n]))].filter(([id]) => !this.acked.has(id));
    while (left.length > 0 && Date.now() < deadline) {
      await Promise.all(left.map(([id, n]) => this.sendNumbered(id, n)));
      left = left.filter(([id]) => !this.acked.has(id));
      if (left.length > 0) await sleep(everyMs);
    }
    return left.map(([id]) => id);
  }

  /** Waits until no request is in flight. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** How many requests ended with each status, e.g. `{ "200": 40, "503": 3, error: 1 }`. */
  statusCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { status } of this.attempts) counts[status] = (counts[status] ?? 0) + 1;
    return counts;
  }

  /** Sends profile `id` with the body of number `n`. */
  private sendNumbered(id: string, n: number): Promise<Attempt> {
    const sending = this.post(id, n);
    this.inFlight.add(sending);
    void sending.finally(() => this.inFlight.delete(sending));
    return sending;
  }

  private async post(id: string, n: number): Promise<Attempt> {
    const body = this.options.body?.(n) ?? defaultBody;
    const name = encodeURIComponent(`${app}{${idLabel}=${id}}`);
    const startedAt = Date.now();
    let attempt: Attempt;
    try {
      const res = await fetch(`${this.options.url}/ingest?name=${name}&format=pprof&from=1700000000&until=1700000010`, {
        method: "POST",
        body,
        headers: { "Content-Type": "application/octet-stream" },
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer();
      attempt = { id, n, startedAt, endedAt: Date.now(), status: res.status, retryAfter: res.headers.get("retry-after") };
    } catch {
      attempt = { id, n, startedAt, endedAt: Date.now(), status: "error" };
    }
    this.attempts.push(attempt);
    if (typeof attempt.status === "number" && attempt.status >= 200 && attempt.status < 300) {
      this.acked.set(id, startedAt);
    }
    return attempt;
  }
}
