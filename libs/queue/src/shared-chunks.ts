/** Reads of chunk keys in one round trip: `null` for a key that does not exist. */
export type ChunkReader = (keys: readonly string[]) => Promise<(Buffer | null)[]>;

interface Entry {
  value: Promise<Buffer | null>;
  /** Bytes of the chunk once read; 0 while the read is under way. */
  size: number;
  /** Reads it may still serve before it goes. */
  readsLeft: number;
}

/**
 * The batch chunks a writer process read lately, shared by the workers of its targets. A flush
 * gives every target that gets its profiles a job for the same batch; with this the process reads
 * the batch's chunks from Redis once (the first job), and the other targets' jobs take them from
 * memory (or join the read under way) instead of each reading every byte again.
 *
 * Chunks never change once stored (a batch id is a random UUID, used once), so a shared chunk is
 * always the right one. An entry goes once it served as many reads as the process has targets (a
 * retry counts as one), when the batch's last claim deletes the chunks, or, least recently used
 * first, when the entries hold more than `maxBytes`. A chunk that does not exist is not kept: the
 * next job reads it again. It only helps when one process serves several targets of a batch: with
 * writers scaled out, another target's job may run elsewhere, and the entry waits for eviction.
 */
export class SharedChunks {
  /** In order of last use: the first entry is the one to evict. */
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  /**
   * @param readers how many jobs in this process may read a batch's chunks: its targets (one job each).
   * @param maxBytes the most chunk bytes kept at once.
   */
  constructor(
    private readonly readers: () => number,
    private readonly maxBytes: number,
  ) {}

  /** The chunks of `keys`, in order: kept ones from memory, the others in one call of `read`. */
  async read(keys: readonly string[], read: ChunkReader): Promise<(Buffer | null)[]> {
    const distinct = [...new Set(keys)];
    const missing = distinct.filter((key) => !this.entries.has(key));
    if (missing.length > 0) {
      const values = read(missing);
      missing.forEach((key, i) => {
        const entry: Entry = { value: values.then((found) => found[i] ?? null), size: 0, readsLeft: this.readers() };
        this.entries.set(key, entry);
        entry.value.then(
          (value) => this.settle(key, entry, value),
          () => this.remove(key, entry),
        );
      });
    }
    const taken = new Map(distinct.map((key) => [key, this.take(key)]));
    return Promise.all(keys.map((key) => taken.get(key)!));
  }

  /** Forgets the chunks of `keys` (the batch's last claim deleted them). */
  forget(keys: readonly string[]): void {
    for (const key of keys) {
      const entry = this.entries.get(key);
      if (entry !== undefined) this.remove(key, entry);
    }
  }

  /** Chunk bytes kept now. */
  get keptBytes(): number {
    return this.bytes;
  }

  private take(key: string): Promise<Buffer | null> {
    const entry = this.entries.get(key)!;
    entry.readsLeft--;
    if (entry.readsLeft <= 0) this.remove(key, entry);
    else {
      // Most recently used last.
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry.value;
  }

  private settle(key: string, entry: Entry, value: Buffer | null): void {
    if (this.entries.get(key) !== entry) return;
    if (value === null) {
      this.remove(key, entry);
      return;
    }
    // The client's reply is a view into its read buffers, which may be far larger than the chunk:
    // what is kept for later jobs is a copy of the chunk alone, so that the bound is the memory held.
    const copy = Buffer.from(value);
    entry.value = Promise.resolve(copy);
    entry.size = copy.byteLength;
    this.bytes += entry.size;
    for (const [oldest, kept] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      // A read under way holds no bytes yet: evicting it would only make its next job read again.
      if (kept.size > 0) this.remove(oldest, kept);
    }
  }

  private remove(key: string, entry: Entry): void {
    if (this.entries.get(key) !== entry) return;
    this.entries.delete(key);
    this.bytes -= entry.size;
  }
}
