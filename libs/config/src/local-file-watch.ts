import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { contentDigest } from "./content-digest.js";
import type { LocalFileConfig } from "./relay-config.js";
import { timerDelay } from "./timer-delay.js";

/** Alloy waits this long after a file system event before it reads the file, so as not to take a write half done. */
const settleMs = 30;

export interface LocalFileWatchEvents {
  /** The file's content is no longer what it was last seen holding (or it became unreadable, or readable again). */
  changed(file: LocalFileConfig): void;
  /** The file system cannot watch the file (it is gone, say): it is checked every poll until it can. */
  watchFailed(file: LocalFileConfig, error: Error): void;
}

/**
 * Watches the files of a configuration's local.file components as Alloy's detectors do, and tells
 * when one's content changed: `fsnotify` on file system events (after a short settle), re-establishing
 * the watch and checking besides on every `poll_frequency`, as Alloy does, for a file replaced or
 * removed; `poll` on every `poll_frequency` alone. A content counts as changed against what the file
 * was last seen holding, starting from what the configuration was loaded with, so a change is told
 * once, whether the reload it asks for takes it or not.
 */
export class LocalFileWatch {
  private watches: FileWatch[] = [];

  constructor(private readonly events: LocalFileWatchEvents) {}

  /** Watches the files of a configuration (just loaded) instead of what it watched before. */
  watch(files: readonly LocalFileConfig[]): void {
    this.close();
    this.watches = files.map((file) => new FileWatch(file, this.events));
  }

  /**
   * Tells `file`'s change again at its next check, the content still new: the reload it asked for
   * could not take it for a passing reason (Redis unreachable, say), where a content it refused is
   * told once.
   */
  retry(file: LocalFileConfig): void {
    for (const fileWatch of this.watches) fileWatch.retry(file);
  }

  close(): void {
    for (const fileWatch of this.watches) fileWatch.close();
    this.watches = [];
  }
}

/** One file's watch; timers and watchers are unref'd: they never keep the process alive. */
class FileWatch {
  private seen: string;
  private watcher: FSWatcher | undefined;
  private readonly poll: NodeJS.Timeout;
  private settling: NodeJS.Timeout | undefined;
  /** Checks run one at a time, in order, so that `seen` follows the file. */
  private checking: Promise<void> = Promise.resolve();
  /** Checks queued or running: a poll adds none while there are any (a slow read must not pile them up). */
  private pending = 0;
  private closed = false;

  constructor(
    private readonly file: LocalFileConfig,
    private readonly events: LocalFileWatchEvents,
  ) {
    this.seen = file.contentDigest;
    if (file.detector === "fsnotify") this.startWatcher();
    this.poll = setInterval(() => {
      if (file.detector === "fsnotify" && this.watcher === undefined) this.startWatcher();
      if (this.pending === 0) this.check();
    }, timerDelay(file.pollFrequencyMs)).unref();
    // A change made after the configuration was read and before this watch began.
    this.check();
  }

  retry(file: LocalFileConfig): void {
    if (file.label === this.file.label) this.seen = this.file.contentDigest;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.poll);
    clearTimeout(this.settling);
    this.stopWatcher();
  }

  private startWatcher(): void {
    try {
      const watcher = watch(this.file.path, { persistent: false }, () => this.settleThenCheck());
      watcher.on("error", (error) => {
        this.stopWatcher();
        this.events.watchFailed(this.file, error);
        this.settleThenCheck();
      });
      this.watcher = watcher;
    } catch (error) {
      this.events.watchFailed(this.file, error as Error);
    }
  }

  private stopWatcher(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private settleThenCheck(): void {
    clearTimeout(this.settling);
    this.settling = setTimeout(() => {
      if (this.closed) return;
      // The watch follows an inode: a file replaced (renamed over, a Kubernetes secret's update) or
      // removed ends it. Watching the path again before the check misses nothing.
      this.stopWatcher();
      this.startWatcher();
      this.check();
    }, settleMs).unref();
  }

  private check(): void {
    this.pending++;
    this.checking = this.checking
      .then(async () => {
        const seen = await readFile(this.file.path, "utf8").then(contentDigest, (error: NodeJS.ErrnoException) => `unreadable: ${error.code ?? error.message}`);
        if (this.closed || seen === this.seen) return;
        this.seen = seen;
        this.events.changed(this.file);
      })
      // A listener that throws must not end the checks for good.
      .catch((error: unknown) => this.events.watchFailed(this.file, error as Error))
      .finally(() => {
        this.pending--;
      });
  }
}
