import type { BatchJob } from "./batch-job.js";
import type { BatchProgress } from "./batch-progress.js";

/**
 * Saves a job's progress in Redis while its deliveries run, at most once per interval and never two
 * saves at once, so that a writer that crashes mid-batch leaves behind what it delivered but the last
 * interval. Each save is a Redis write (an fsync with `appendfsync always`), which is why it is not
 * one per profile: a batch delivered within the interval saves nothing.
 */
export class ProgressRecorder {
  private lastSave: number;
  private saving: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private stopped = false;

  constructor(
    private readonly job: BatchJob,
    private readonly progress: BatchProgress,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {
    this.lastSave = Date.now();
  }

  /** Something was delivered: save within the interval (unless stopped: the attempt's end saves). */
  changed(): void {
    if (this.stopped) return;
    this.dirty = true;
    this.schedule();
  }

  /** Stops saving, for good; waits for a save under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty = false;
    await this.saving;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.saving !== undefined || !this.dirty) return;
    const wait = this.lastSave + this.intervalMs - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.write();
      }, wait);
      return;
    }
    this.write();
  }

  private write(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.lastSave = Date.now();
    this.saving = this.job
      .updateProgress(this.progress.toJSON())
      .catch(this.onError)
      .finally(() => {
        this.saving = undefined;
        this.schedule();
      });
  }
}
