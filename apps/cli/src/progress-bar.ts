import type { ReplayProgress } from "@pyroscope-relay/queue";

export interface ProgressBar {
  update(progress: ReplayProgress): void;
  /** Clears the bar, so that the summary that follows starts on a clean line. */
  finish(): void;
}

interface Terminal {
  isTTY?: boolean;
  write(text: string): unknown;
}

const redrawEveryMs = 100;

/** A one-line replay progress bar on `stream`, or undefined when it is not a terminal (logs, pipes). */
export function createProgressBar(stream: Terminal, width = 30): ProgressBar | undefined {
  if (!stream.isTTY) return undefined;
  let drawnAt = 0;
  let drawn = false;
  return {
    update(progress) {
      const now = Date.now();
      if (now - drawnAt < redrawEveryMs && progress.examined < progress.total) return;
      drawnAt = now;
      drawn = true;
      stream.write(`\r${renderProgress(progress, width)}\x1b[K`);
    },
    finish() {
      if (drawn) stream.write("\r\x1b[K");
    },
  };
}

/** `[#######.......]  70/140  replayed 60, skipped 2, not matched 8` */
export function renderProgress(progress: ReplayProgress, width: number): string {
  const { examined, total } = progress;
  const filled = total === 0 ? width : Math.min(width, Math.floor((examined / total) * width));
  const count = `${String(examined).padStart(String(total).length)}/${total}`;
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${count}  replayed ${progress.replayed}, skipped ${progress.skipped}, not matched ${progress.notMatched}`;
}
