/**
 * A reading of Redis repeated in the background: one at a time (a Redis slower than the interval gets
 * no pile of commands), a failure told once per outage (the reading's owner keeps its last state, and
 * the next reading that works decides again), none told once stopped.
 */
export class BackgroundReading {
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private failing = false;
  private stopped = false;

  constructor(
    private readonly read: () => Promise<unknown>,
    private readonly onError?: (error: unknown) => void,
  ) {}

  /** Reads every `intervalMs` (and at once too, with `now`), until `stop()`; the timer keeps no process alive. */
  start(intervalMs: number, { now }: { now: boolean }): void {
    if (this.timer !== undefined) return;
    this.stopped = false;
    if (now) this.tick();
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  /** Stops reading; resolves once a reading under way ended (whose failure goes untold). */
  stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopped = true;
    return this.polling ?? Promise.resolve();
  }

  /** A reading worked, by the timer or called directly: the next failure is told again. */
  succeeded(): void {
    this.failing = false;
  }

  private tick(): void {
    if (this.polling !== undefined) return;
    this.polling = this.read()
      .then(
        () => undefined,
        (error: unknown) => {
          if (!this.failing && !this.stopped) this.onError?.(error);
          this.failing = true;
        },
      )
      .finally(() => {
        this.polling = undefined;
      });
  }
}
