/** A pause at least this long marks a phase's figures as not comparable with other runs'. */
export const PAUSE_NOTED_MS = 1_000;

/**
 * The longest span in which the bench's own timer did not run. The bench only waits while a phase
 * runs, so its timer comes late by more than a few milliseconds only when the whole machine stood
 * still: a virtual machine paused by its host (for a snapshot, say), which steal time does not show,
 * and after which every process' CPU per profile and latency tail are off. Both clocks are watched:
 * wrk times its loads by the wall clock, which a host may set forward after a pause.
 */
export class MachinePauses {
  private lastMonotonic = performance.now();
  private lastWall = Date.now();
  private longestMs = 0;
  private stopped = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly intervalMs = 20) {
    // Unref'd: a phase that fails before its figures are read leaves nothing running.
    this.timer = setInterval(() => this.tick(), intervalMs).unref();
  }

  /** The longest pause from construction to the first call, in ms: watching stops there. */
  stop(): number {
    if (!this.stopped) {
      clearInterval(this.timer);
      this.tick();
      this.stopped = true;
    }
    return this.longestMs;
  }

  private tick(): void {
    const monotonic = performance.now();
    const wall = Date.now();
    const late = Math.max(monotonic - this.lastMonotonic, wall - this.lastWall) - this.intervalMs;
    this.longestMs = Math.max(this.longestMs, late);
    this.lastMonotonic = monotonic;
    this.lastWall = wall;
  }
}
