import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import type { WriterPriority } from "@pyroscope-relay/config";
import type { Logger } from "@pyroscope-relay/ops";

/** The nice value a writer falls back to where SCHED_IDLE cannot be had: the lowest there is. */
const lowestNice = 19;

/**
 * Lowers this process' CPU priority as `--writer.nice` says, never raising it. Delivery waits for
 * nobody; an acknowledgement waits for ingest and Redis. Where a writer shares cores with them, the
 * kernel then runs the ack path first and the writer in the time left over.
 */
export function lowerWriterPriority(priority: WriterPriority, logger: Logger): void {
  if (priority !== "idle") {
    renice(priority, logger);
  } else if (process.platform !== "linux") {
    // SCHED_IDLE is Linux': elsewhere the lowest nice value comes closest.
    renice(lowestNice, logger);
  } else {
    try {
      schedIdle();
      logger.info({ policy: "SCHED_IDLE" }, "lowered the writer's CPU priority (--writer.nice=idle)");
    } catch (err) {
      logger.warn({ err, nice: lowestNice }, "could not switch the writer to SCHED_IDLE (--writer.nice=idle, with chrt); it lowers its nice value instead");
      renice(lowestNice, logger);
    }
  }
}

/**
 * SCHED_IDLE: a waking task of any other policy preempts the writer at once, where a nice value only
 * weighs its share, and the kernel counts a core that runs only idle-policy tasks as free for a
 * waking one. Node cannot set a scheduling policy, util-linux's `chrt` can: for every thread
 * (`--all-tasks`), since threads started later inherit their creator's policy.
 */
function schedIdle(): void {
  execFileSync("chrt", ["--idle", "--all-tasks", "--pid", "0", String(process.pid)], { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 });
}

function renice(nice: number, logger: Logger): void {
  const started = getPriority();
  if (nice <= started) return;
  try {
    for (const thread of threads()) setPriority(thread, nice);
    logger.info({ nice, started }, "lowered the writer's CPU priority (--writer.nice)");
  } catch (err) {
    logger.warn({ err, nice }, "could not lower the writer's CPU priority (--writer.nice); it runs as started");
  }
}

/**
 * The ids to renice: on Linux a nice value is a thread's, and V8's helpers (the garbage collector's
 * among them) started before the flags were read; threads started later inherit the main thread's.
 * Elsewhere 0, this process.
 */
function threads(): number[] {
  try {
    return readdirSync("/proc/self/task").map(Number);
  } catch {
    return [0];
  }
}
