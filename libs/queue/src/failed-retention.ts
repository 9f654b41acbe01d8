import { setTimeout as sleep } from "node:timers/promises";
import type { RedisConnection } from "./redis-connection.js";
import type { FailedJobScan } from "./failed-job-scan.js";
import { TargetLifecycles } from "./target-lifecycles.js";

export interface FailedJobRetentionOptions {
  /** An `admin` connection: a sweep must give up while Redis is down, not hang a shutdown. */
  connection: RedisConnection;
  prefix: string;
  targets: readonly string[];
  /** Queue shards per target, 1 by default. */
  shards?: number;
  /** `--queue.failed-max-age`: failed jobs older than this are removed. */
  maxAgeMs: number;
  /** `--queue.failed-max-count`: failed jobs kept per target, the newest. */
  maxCount: number;
  /** Time between sweeps; the first runs at `start()`. */
  intervalMs?: number;
  onSweep?: (sweep: TargetSweep) => void;
  onError: (error: FailedJobRetentionError) => void;
  pageSize?: number;
}

export interface TargetSweep {
  target: string;
  /** Failed batches removed for age or count. */
  removed: number;
  /** Stored profiles deleted with them (no other job held them). */
  payloadsDeleted: number;
}

/** A sweep of one target failed (usually Redis unreachable); the next sweep tries again. */
export class FailedJobRetentionError extends Error {
  override readonly name = "FailedJobRetentionError";

  constructor(
    readonly target: string,
    options: { cause: unknown },
  ) {
    super(`failed-job retention sweep of ${target} failed: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`, options);
  }
}

export const defaultRetentionIntervalMs = 60_000;

/**
 * How long `stop` and `setTargets` wait for the step a sweep is taking (a script, a release: normally
 * milliseconds): a release waiting to be tried again (1, 5, 15 s) or a Redis that does not answer
 * must not hold up a writer's shutdown or a reload.
 */
const stepWaitMs = 1_000;

/**
 * Bounds each target's failed jobs by age and count (oldest first), releasing their payload claims so
 * that a payload no target owes is deleted. Several writer processes may sweep the same target; every
 * step is idempotent.
 */
export class FailedJobRetention {
  private readonly targets: Map<string, TargetLifecycles>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<TargetSweep[]> | undefined;
  /** Set by `stop`: a sweep under way takes no further batch. */
  private stopping = false;

  constructor(private readonly options: FailedJobRetentionOptions) {
    if (!Number.isSafeInteger(options.maxAgeMs) || options.maxAgeMs <= 0) throw new RangeError(`maxAgeMs must be a positive integer, got ${options.maxAgeMs}`);
    if (!Number.isSafeInteger(options.maxCount) || options.maxCount <= 0) throw new RangeError(`maxCount must be a positive integer, got ${options.maxCount}`);
    const { connection, prefix, shards } = options;
    this.targets = new Map(options.targets.map((target) => [target, new TargetLifecycles({ connection, prefix, target, shards })]));
  }

  /**
   * The targets to sweep from now on (a configuration reload): a removed target's failed batches are
   * left alone, as its queue is; a sweep under way leaves it after the step it is taking.
   */
  async setTargets(targets: readonly string[]): Promise<void> {
    const { connection, prefix, shards } = this.options;
    const removed = [...this.targets].filter(([target]) => !targets.includes(target));
    for (const [target] of removed) this.targets.delete(target);
    for (const target of targets) {
      if (!this.targets.has(target)) this.targets.set(target, new TargetLifecycles({ connection, prefix, target, shards }));
    }
    await this.stepTaken();
    await Promise.all(removed.map(([, lifecycles]) => lifecycles.close()));
  }

  /** Sweeps now and then every interval, until `stop()`. */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.sweep(), this.options.intervalMs ?? defaultRetentionIntervalMs);
    this.timer.unref();
    void this.sweep();
  }

  /** One pass over every target; a sweep already under way is joined, not doubled. Errors go to `onError`. */
  sweep(): Promise<TargetSweep[]> {
    this.running ??= this.sweepAll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /**
   * Stops the timer and a sweep under way, after the step it is taking, and closes the queues (not
   * the connection); a release that fails is then not tried again.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopping = true;
    await this.stepTaken();
    await Promise.all([...this.targets.values()].map((lifecycle) => lifecycle.close()));
  }

  /** Resolves once a sweep under way has ended, or after `stepWaitMs`. */
  private async stepTaken(): Promise<void> {
    await Promise.race([this.running, sleep(stepWaitMs, undefined, { ref: false })]);
  }

  /** Whether a sweep under way goes on with `target`: not stopped, and the target not removed by a reload. */
  private sweeping(target: string, lifecycles: TargetLifecycles): boolean {
    return !this.stopping && this.targets.get(target) === lifecycles;
  }

  private async sweepAll(): Promise<TargetSweep[]> {
    const sweeps: TargetSweep[] = [];
    for (const [target, lifecycle] of [...this.targets]) {
      if (!this.sweeping(target, lifecycle)) continue;
      try {
        const sweep = await this.sweepTarget(target, lifecycle);
        sweeps.push(sweep);
        this.options.onSweep?.(sweep);
      } catch (cause) {
        this.options.onError(new FailedJobRetentionError(target, { cause }));
      }
    }
    return sweeps;
  }

  private async sweepTarget(target: string, lifecycles: TargetLifecycles): Promise<TargetSweep> {
    const { maxAgeMs, maxCount } = this.options;
    const sweep: TargetSweep = { target, removed: 0, payloadsDeleted: 0 };
    await this.discard(sweep, lifecycles, { to: Date.now() - maxAgeMs }, Number.POSITIVE_INFINITY);
    const excess = (await lifecycles.countFailed()) - maxCount;
    if (excess > 0) await this.discard(sweep, lifecycles, {}, excess);
    return sweep;
  }

  /** Discards up to `limit` failed batches in `scan`, oldest first over the target's shards. */
  private async discard(sweep: TargetSweep, lifecycles: TargetLifecycles, scan: FailedJobScan, limit: number): Promise<void> {
    let looked = 0;
    for await (const page of lifecycles.failed({ ...scan, pageSize: this.options.pageSize })) {
      for (const failed of page) {
        if (looked++ >= limit || !this.sweeping(sweep.target, lifecycles)) return;
        const { removed, payloadsDeleted } = await lifecycles.of(failed.job).discard(failed, "retention");
        if (removed) sweep.removed++;
        sweep.payloadsDeleted += payloadsDeleted;
      }
    }
  }
}
