import { mastersOf, type RedisConnection } from "./redis-connection.js";
import { RedisMemoryFullError } from "./errors.js";

export interface RedisMemoryState {
  usedBytes: number;
  /** `maxmemory`; 0 = no limit, and then Redis is never full. */
  maxBytes: number;
  /** `usedBytes` is at or above 95% of `maxBytes`. */
  full: boolean;
}

export interface RedisMemoryGuardOptions {
  connection: RedisConnection;
  /** How often `INFO memory` is read (1 s by default); requests only look at the last reading. */
  intervalMs?: number;
  /** Called when `full` flips (and at the first reading when it is full). */
  onChange?: (state: RedisMemoryState) => void;
  /** Called when a reading fails after one that did not (once per outage, not once per second). */
  onError?: (error: unknown) => void;
}

/** Share of `maxmemory` at which ingest stops: the rest is headroom for the writers' own writes. */
const FULL_SHARE = 0.95;

/**
 * Refuses ingest while Redis' `used_memory` (of any master, on a Cluster) is at or above 95% of
 * `maxmemory`, read in the background rather than per request. Under `noeviction` a full Redis refuses writes with OOM (which
 * already becomes a 503), but it refuses the writers' job completions too; stopping ingest a little
 * before keeps them draining, and ingest resumes at the first reading below the threshold.
 */
export class RedisMemoryGuard {
  private readonly intervalMs: number;
  private last: RedisMemoryState | undefined;
  private failing = false;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(private readonly options: RedisMemoryGuardOptions) {
    this.intervalMs = options.intervalMs ?? 1_000;
  }

  /** Reads now, then every interval, until `stop()`. */
  start(): void {
    if (this.timer !== undefined) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  /** The last successful reading; undefined before the first one. */
  get state(): RedisMemoryState | undefined {
    return this.last;
  }

  /** Throws `RedisMemoryFullError` when the last reading was full; before any reading, lets the request try. */
  check(): void {
    const state = this.last;
    if (state?.full !== true) return;
    const percent = Math.round((state.usedBytes / state.maxBytes) * 100);
    throw new RedisMemoryFullError(
      `Redis memory is at ${percent}% of maxmemory (${state.usedBytes} of ${state.maxBytes} bytes): ingest paused until the writers free some`,
    );
  }

  /** Reads `INFO memory` of every master once and updates the state from the fullest. */
  async poll(): Promise<RedisMemoryState> {
    const masters = mastersOf(this.options.connection);
    if (masters.length === 0) throw new Error("no Redis master known yet");
    const readings = await Promise.all(masters.map(async (master) => parseMemoryInfo(await master.info("memory"))));
    const state = readings.reduce(fullest);
    const changed = state.full !== (this.last?.full ?? false);
    this.last = state;
    this.failing = false;
    if (changed) this.options.onChange?.(state);
    return state;
  }

  private tick(): void {
    // One reading at a time: a Redis slower than the interval gets no pile of INFO commands.
    if (this.polling !== undefined) return;
    this.polling = this.poll()
      .then(
        () => undefined,
        (error: unknown) => {
          // The last reading stands: a Redis that cannot answer INFO fails the enqueue on its own, and
          // the next reading that works decides again.
          if (!this.failing) this.options.onError?.(error);
          this.failing = true;
        },
      )
      .finally(() => {
        this.polling = undefined;
      });
  }
}

/**
 * The reading closer to its limit. On a Cluster one full master refuses the profiles of its slots, and
 * a flush may touch any, so ingest pauses while any master is full.
 */
function fullest(a: RedisMemoryState, b: RedisMemoryState): RedisMemoryState {
  const share = (state: RedisMemoryState) => (state.maxBytes > 0 ? state.usedBytes / state.maxBytes : 0);
  return share(b) > share(a) ? b : a;
}

/** `used_memory` and `maxmemory` from `INFO memory` text. */
function parseMemoryInfo(info: string): RedisMemoryState {
  const field = (name: string): number => {
    const value = new RegExp(`^${name}:(\\d+)\\s*$`, "m").exec(info)?.[1];
    if (value === undefined) throw new Error(`INFO memory has no ${name}`);
    return Number(value);
  };
  const usedBytes = field("used_memory");
  const maxBytes = field("maxmemory");
  return { usedBytes, maxBytes, full: maxBytes > 0 && usedBytes >= FULL_SHARE * maxBytes };
}
