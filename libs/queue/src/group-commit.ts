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
}

/** Writes in flight at once, at most. */
const MAX_IN_FLIGHT = 2;

interface Waiting<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
  /** Stops listening to the submitter's signal: a write carries the item. */
  carried?: () => void;
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
   * Resolves with the result of the write that carried `item`, or rejects with its error. Should
   * `signal` abort while the item still waits (its submitter gave up on it), the item leaves the
   * queue, no write carries it, and this rejects with the signal's reason; once a write carries it,
   * the write's outcome is its own.
   */
  submit(item: T, signal?: AbortSignal): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const waiting: Waiting<T, R> = { item, resolve, reject };
      if (signal !== undefined) {
        const withdraw = () => {
          const at = this.queue.indexOf(waiting);
          if (at < 0) return;
          this.queue.splice(at, 1);
          reject(signal.reason);
        };
        signal.addEventListener("abort", withdraw, { once: true });
        waiting.carried = () => signal.removeEventListener("abort", withdraw);
      }
      this.queue.push(waiting);
      if (!this.scheduled && this.mayWrite()) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.drain();
        });
      }
    });
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
    const group = this.queue.splice(0, count);
    for (const waiting of group) waiting.carried?.();
    return group;
  }
}
