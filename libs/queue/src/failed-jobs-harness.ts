// Test support for the failed-job specs (not exported from the package): per test a prefix of its own,
// profiles stored by a real Enqueuer, and a real BullMQ Worker that fails each job with the reason
// the test wrote for it, the way the writer does (UnrecoverableError: failed at once, kept).
import { randomUUID } from "node:crypto";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { TargetConfig } from "@pyroscope-relay/config";
import { UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { Enqueuer, type EnqueueData } from "./enqueuer.js";
import type { JobData } from "./job-data.js";
import { queueNameFor } from "./keys.js";
import { createRedisConnection, waitForRedis } from "./redis-connection.js";
import { targetQueue, type TargetQueue } from "./target-queue.js";

export const PAYLOAD_TTL_MS = 3_600_000;

export function targetConfig(name: string): TargetConfig {
  return {
    name, writeLabel: name, endpointName: name, url: "http://127.0.0.1:1", remoteTimeoutMs: 10_000, headers: {},
    minBackoffMs: 500, maxBackoffMs: 300_000, maxBackoffRetries: 3, retryOnHttp429: true, auth: { kind: "none" }, externalLabels: {},
  };
}

export interface FailedJobsHarness {
  prefix: string;
  /** An `admin` connection, as the commands and the admin API use. */
  connection: Redis;
  queue(target: string): TargetQueue;
  /**
   * Stores one profile per reason, owed to `owedBy` (default: just `target`), and fails `target`'s job
   * for each with that reason, in order, each in a later millisecond than the one before. Resolves with the payload ids once every job is in `failed`.
   */
  fail(target: string, reasons: readonly string[], owedBy?: readonly string[]): Promise<string[]>;
}

export async function failedJobsHarness(t: TestContext, redisUrl: string, targets: readonly string[]): Promise<FailedJobsHarness> {
  const prefix = `t-${randomUUID()}`;
  const connection = createRedisConnection(redisUrl, "admin");
  const workerConnection = createRedisConnection(redisUrl, "worker");
  const enqueuer = new Enqueuer({ connection, prefix, payloadTtlMs: PAYLOAD_TTL_MS, targets: targets.map(targetConfig) });
  const queues = new Map(targets.map((name) => [name, targetQueue(connection, prefix, name)]));
  t.after(async () => {
    await enqueuer.close();
    await Promise.all([...queues.values()].map((queue) => queue.close()));
    connection.disconnect();
    workerConnection.disconnect();
  });
  await waitForRedis(connection, 2_000);

  return {
    prefix,
    connection,
    queue: (target) => queues.get(target)!,
    fail: async (target, reasons, owedBy = [target]) => {
      const reasonOf = new Map<string, string>();
      const ids: string[] = [];
      for (const reason of reasons) {
        const data: EnqueueData = { kind: "ingest", receivedAt: Date.now(), query: "name=app", contentTypes: [] };
        const { payloadId } = await enqueuer.enqueue(Buffer.from(`profile ${ids.length}`), data, owedBy);
        reasonOf.set(payloadId, reason);
        ids.push(payloadId);
      }
      const queue = queues.get(target)!;
      const before = await queue.getFailedCount();
      const worker = new Worker<JobData>(
        queueNameFor(target),
        async (job) => {
          // One failure per millisecond at most, so that "oldest first" is the order of `reasons`
          // (BullMQ orders jobs that failed in the same millisecond by id).
          const started = Date.now();
          while (Date.now() === started) await sleep(0);
          throw new UnrecoverableError(reasonOf.get(job.data.payloadId) ?? "unscripted job");
        },
        { connection: workerConnection, prefix, concurrency: 1 },
      );
      try {
        const deadline = Date.now() + 5_000;
        while ((await queue.getFailedCount()) < before + reasons.length) {
          if (Date.now() > deadline) throw new Error(`${target}: ${reasons.length} jobs not failed within 5 s`);
          await sleep(5);
        }
      } finally {
        await worker.close();
      }
      return ids;
    },
  };
}
