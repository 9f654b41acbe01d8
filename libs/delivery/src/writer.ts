import type { Redis } from "ioredis";
import type { TargetConfig } from "@pyroscope-relay/config";
import type { Logger, RelayMetrics } from "@pyroscope-relay/ops";
import { PayloadStore } from "@pyroscope-relay/queue";
import { TargetWorker } from "./target-worker.js";

export interface WriterOptions {
  targets: TargetConfig[];
  /** A worker-role connection (`maxRetriesPerRequest: null`); the writer does not own it. */
  connection: Redis;
  prefix: string;
  concurrency: number;
  logger: Logger;
  metrics: RelayMetrics;
  /** Jobs older than this fail as `expired`; 0 or absent = never. */
  maxAgeMs?: number;
  /** A job that failed for good keeps its payload at least this long. */
  failedPayloadTtlMs?: number;
  /** How long `close()` waits for active deliveries before handing them back. */
  shutdownGraceMs?: number;
}

export interface Writer {
  readonly targets: string[];
  close(): Promise<void>;
}

/** Starts one worker per target; targets never share a worker, so one outage touches no other. */
export function startWriter(options: WriterOptions): Writer {
  const payloads = new PayloadStore(options.connection, options.prefix);
  const workers = options.targets.map(
    (target) =>
      new TargetWorker({
        target,
        connection: options.connection,
        payloads,
        prefix: options.prefix,
        concurrency: options.concurrency,
        logger: options.logger,
        metrics: options.metrics,
        maxAgeMs: options.maxAgeMs,
        failedPayloadTtlMs: options.failedPayloadTtlMs,
        shutdownGraceMs: options.shutdownGraceMs,
      }),
  );
  options.logger.info({ targets: options.targets.map((t) => t.name), concurrency: options.concurrency }, "writer started");
  return {
    targets: options.targets.map((t) => t.name),
    close: async () => {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
