import type { TargetConfig } from "@pyroscope-relay/config";
import { PayloadStore } from "@pyroscope-relay/queue";
import { TargetWorker } from "./target-worker.js";
import type { TargetWorkerOptions } from "./target-worker.js";

/** Every worker's options but the per-target ones: the writer makes one worker per target. */
export interface WriterOptions extends Omit<TargetWorkerOptions, "target" | "payloads"> {
  targets: TargetConfig[];
}

export interface Writer {
  readonly targets: string[];
  close(): Promise<void>;
}

/** Starts one worker per target; targets never share a worker, so one outage touches no other. */
export function startWriter(options: WriterOptions): Writer {
  const payloads = new PayloadStore(options.connection, options.prefix);
  const workers = options.targets.map((target) => new TargetWorker({ ...options, target, payloads }));
  options.logger.info({ targets: options.targets.map((t) => t.name), concurrency: options.concurrency }, "writer started");
  return {
    targets: options.targets.map((t) => t.name),
    close: async () => {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
