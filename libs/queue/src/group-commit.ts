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

interface Waiting<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: items that arrive while a write is in flight are written together by the next one,
 * one write at a time. An item that finds no write in flight goes out at the end of the current turn
 * of the event loop (with whatever arrived in the same turn), never after a timer, so at low load an
 * item waits for one write and under load a write carries everything that queued behind the last.
 */
export class GroupCommit<T, R> {
  private readonly queue: Waiting<T, R>[] = [];
  private running: Promise<void> | undefined;
  private scheduled = false;

  constructor(private readonly options: GroupCommitOptions<T, R>) {
    const { maxItems, maxBytes } = options.bounds;
    if (!Number.isSafeInteger(maxItems) || maxItems < 1) throw new RangeError(`a flush needs room for at least one item, got ${maxItems}`);
    if (!(maxBytes > 0)) throw new RangeError(`a flush needs a positive byte bound, got ${maxBytes}`);
  }

  /** Resolves with the result of the write that carried `item`, or rejects with its error. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.running === undefined && !this.scheduled) {
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
    while (this.running !== undefined || this.scheduled) await (this.running ?? new Promise((resolve) => setImmediate(resolve)));
  }

  private drain(): void {
    if (this.running !== undefined || this.queue.length === 0) return;
    const group = this.take();
    this.running = this.options.write(group.map((waiting) => waiting.item)).then(
      (result) => this.settle(group, (waiting) => waiting.resolve(result)),
      (error: unknown) => this.settle(group, (waiting) => waiting.reject(error)),
    );
  }

  /**
   * A write ended: the next one goes out first, so that Redis works on it while the callers of this
   * one carry on (answer their clients), then they hear the outcome.
   */
  private settle(group: Waiting<T, R>[], outcome: (waiting: Waiting<T, R>) => void): void {
    this.running = undefined;
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
