import { readdirSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import type { Logger } from "@pyroscope-relay/ops";

/**
 * Lowers this process' CPU priority to the nice value `nice` (`--writer.nice`), never raising it.
 * Delivery waits for nobody; an acknowledgement waits for ingest and Redis. Where a writer shares
 * cores with them, the kernel then runs the ack path first and the writer in the time left over.
 */
export function lowerWriterPriority(nice: number, logger: Logger): void {
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
