import { BackgroundReading } from "./background-reading.js";
import { QueueShardsMismatchError } from "./errors.js";
import { readQueueShards, restoreQueueShards } from "./queue-shards-record.js";
import type { RedisConnection } from "./redis-connection.js";

export interface QueueShardsWatchOptions {
  connection: RedisConnection;
  prefix: string;
  /** This process' `--target.queue-shards`. */
  shards: number;
  /** How often the record is read: every 5 s by default, as the writers sweep for waiting segments. */
  intervalMs?: number;
  /** While the record stays above this process' count, `onMismatch` is called again this often: every 10 minutes by default. */
  remindMs?: number;
  /** Called when the record goes above this process' count, each time it changes while it is, and every `remindMs` while it stays so. */
  onMismatch?: (mismatch: QueueShardsMismatchError) => void;
  /** Called when the record is within this process' count again (set lower with redis-cli, or gone: then recorded again). */
  onResolved?: (recorded: number | undefined) => void;
  /** Called when a reading fails after one that did not (once per outage). */
  onError?: (error: unknown) => void;
}

/**
 * Reads the deployment's recorded `--target.queue-shards` (see queue-shards-record.ts) in the
 * background, for a process that started with a count that was right then: when another process
 * starts with a larger one and raises the record, this one misses the batches of the shards beyond
 * its own. It does not take them on: `mismatch` says so, for readiness, and the callbacks for the
 * log, once per change (and a reminder now and then), not at every reading.
 */
export class QueueShardsWatch {
  private readonly intervalMs: number;
  private readonly remindMs: number;
  private current: QueueShardsMismatchError | undefined;
  private reportedAt = 0;
  private readonly reading: BackgroundReading;

  constructor(private readonly options: QueueShardsWatchOptions) {
    this.intervalMs = options.intervalMs ?? 5_000;
    this.remindMs = options.remindMs ?? 600_000;
    this.reading = new BackgroundReading(() => this.poll(), options.onError);
  }

  /** The record is above this process' count, as the last reading saw it; undefined while it is not. */
  get mismatch(): QueueShardsMismatchError | undefined {
    return this.current;
  }

  /** Reads every interval (the first one interval from now: the process checked at its start), until `stop()`. */
  start(): void {
    this.reading.start(this.intervalMs, { now: false });
  }

  /**
   * Stops reading. A reading under way is not waited for (on a Redis that stopped answering it would
   * hold the shutdown for the command timeout): it ends with the connection, its failure untold.
   */
  stop(): Promise<void> {
    void this.reading.stop();
    return Promise.resolve();
  }

  /** Reads the record once and updates `mismatch`; the callbacks as the class says. */
  async poll(now = Date.now()): Promise<QueueShardsMismatchError | undefined> {
    const { prefix, shards } = this.options;
    const recorded = await readQueueShards(this.options.connection, prefix);
    // Gone while this process runs: recorded again, so that the check at a process' start still holds.
    if (recorded === undefined) await restoreQueueShards(this.options.connection, prefix, shards);
    this.reading.succeeded();
    const previous = this.current;
    if (recorded === undefined || recorded <= shards) {
      this.current = undefined;
      if (previous !== undefined) this.options.onResolved?.(recorded);
      return undefined;
    }
    if (previous?.recorded !== recorded) {
      this.current = new QueueShardsMismatchError(prefix, recorded, shards);
    } else if (now - this.reportedAt < this.remindMs) {
      return this.current;
    }
    this.reportedAt = now;
    this.options.onMismatch?.(this.current!);
    return this.current;
  }
}
