/** How much one flush may carry; it always carries at least one item, however large. */
export interface FlushBounds {
  maxItems: number;
  maxBytes: number;
}

export interface GroupCommitOptions<T, R> {
  bounds: FlushBounds;
  sizeOf: (item: T) => number;
  /** Writes one group; its result (or error) is every member's. */
  write: (items: T[]) => Promise<R>;
  /** Hears at once of an item withdrawn, its deadline passed before a write carried it. */
  withdrawn?: (item: T) => void;
}

/** An item's deadline passed before any write carried it: it was never written. */
export class DeadlinePassedError extends Error {
  override readonly name = "DeadlinePassedError";
}

/** Writes in flight at once, at most. */
const MAX_IN_FLIGHT = 2;

interface Waiting<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
  /** Date.now() past which no write carries it any more (its submitter gave up on it). */
  deadline: number;
}

/**
 * Group commit: items that arrive while a write is in flight are written together by the next one,
 * never after a timer. An item that finds no write in flight goes out at the end of the current turn
 * of the event loop (with whatever arrived in the same turn), so at low load an item waits for one
 * write. At most two writes are in flight: the next one goes out once as many items wait as the one
 * in flight carries, so that Redis works on it while the answer to the first travels back and its
 * callers answer their clients, and a write carries about as many items as it would one at a time
 * (the cost of a write, an fsync, is shared by fewer items when writes go out smaller).
 */
export class GroupCommit<T, R> {
  private readonly queue: Waiting<T, R>[] = [];
  /** The writes in flight, each with the number of items it carries. */
  private readonly inFlight = new Map<Promise<void>, number>();
  private scheduled = false;

  constructor(private readonly options: GroupCommitOptions<T, R>) {
    const { maxItems, maxBytes } = options.bounds;
    if (!Number.isSafeInteger(maxItems) || maxItems < 1) throw new RangeError(`a flush needs room for at least one item, got ${maxItems}`);
    if (!(maxBytes > 0)) throw new RangeError(`a flush needs a positive byte bound, got ${maxBytes}`);
  }

  /**
   * Resolves with the result of the write that carried `item`, or rejects with its error. An item
   * still waiting past its `deadline` (Date.now(); its submitter gave up on it) is withdrawn as soon
   * as the queue is looked at: no write carries it, and this rejects with DeadlinePassedError; once a
   * write carries it, the write's outcome is its own.
   */
  submit(item: T, deadline = Number.POSITIVE_INFINITY): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject, deadline });
      if (!this.scheduled && this.mayWrite()) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.drain();
        });
      }
    });
  }

  /**
   * Withdraws the waiting items whose deadline passed. Items wait in the order they came, and their
   * deadlines follow that order where every submitter allows the same time: the expired ones are at
   * the head.
   */
  withdrawExpired(now = Date.now()): void {
    while (this.queue.length > 0 && this.queue[0]!.deadline <= now) {
      const { item, reject } = this.queue.shift()!;
      this.options.withdrawn?.(item);
      reject(new DeadlinePassedError("its deadline passed before a write carried it"));
    }
  }

  /** Resolves once every item submitted so far is written (or failed). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0 || this.scheduled) {
      await (this.inFlight.size > 0 ? Promise.allSettled(this.inFlight.keys()) : new Promise((resolve) => setImmediate(resolve)));
    }
  }

  /** Whether a write may go out now: none is in flight, or one is and as many items wait as it carries. */
  private mayWrite(): boolean {
    if (this.queue.length === 0 || this.inFlight.size >= MAX_IN_FLIGHT) return false;
    for (const carried of this.inFlight.values()) if (this.queue.length < carried) return false;
    return true;
  }

  private drain(): void {
    this.withdrawExpired();
    while (this.mayWrite()) {
      const group = this.take();
      const write: Promise<void> = this.options.write(group.map((waiting) => waiting.item)).then(
        (result) => this.settle(write, group, (waiting) => waiting.resolve(result)),
        (error: unknown) => this.settle(write, group, (waiting) => waiting.reject(error)),
      );
      this.inFlight.set(write, group.length);
    }
  }

  /**
   * A write ended: the next one goes out first, so that Redis works on it while the callers of this
   * one carry on (answer their clients), then they hear the outcome.
   */
  private settle(write: Promise<void>, group: Waiting<T, R>[], outcome: (waiting: Waiting<T, R>) => void): void {
    this.inFlight.delete(write);
    this.drain();
    group.forEach(outcome);
  }

  private take(): Waiting<T, R>[] {
    const { maxItems, maxBytes } = this.options.bounds;
    let bytes = 0;
    let count = 0;
    for (const waiting of this.queue) {
      const size = this.options.sizeOf(waiting.item);
      if (count > 0 && (count >= maxItems || bytes + size > maxBytes)) break;
      bytes += size;
      count++;
    }
    return this.queue.splice(0, count);
  }
}
