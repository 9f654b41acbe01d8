/** A counting semaphore: at most `size` pieces of work run at once; the others wait their turn in order. */
export class Slots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** Who waits for a slot to be free (`whenFree`), not to take it. */
  private readonly watching: (() => void)[] = [];

  constructor(private readonly size: number) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`slots need a size of at least 1, got ${size}`);
  }

  /** Resolves once a slot is free and nobody waits for one: work started then would start at once. */
  whenFree(): Promise<void> {
    if (this.active < this.size) return Promise.resolve();
    return new Promise<void>((resolve) => this.watching.push(resolve));
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active < this.size) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      // The slot passes straight to the next in line, or is freed.
      const next = this.waiting.shift();
      if (next === undefined) {
        this.active--;
        for (const watcher of this.watching.splice(0)) watcher();
      } else next();
    }
  }
}
