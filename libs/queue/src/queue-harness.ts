// Test support for the queue's integration specs (not exported from the package): per test a prefix
// of its own, profiles stored by a real Enqueuer, and real BatchWorkers whose delivery is a script:
// each profile is delivered, fails for good, or fails for now, as the test decides.
import { randomUUID } from "node:crypto";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { targetConfig } from "@pyroscope-relay/testing";
import type { ProfileFacts, ProfileRef } from "./batch-data.js";
import { attemptsFor } from "./batch-job.js";
import { BatchStore } from "./batch-store.js";
import { BatchWorker, type BatchWorkerOptions } from "./batch-worker.js";
import type { AttemptOutcome, BatchDelivery } from "./delivery-port.js";
import { Enqueuer } from "./enqueuer.js";
import type { FailureReason } from "./failure-reason.js";
import { shardOf } from "./keys.js";
import { createRedisConnection, waitForRedis, type RedisConnection, type RedisEndpoint } from "./redis-connection.js";
import { targetQueues, type TargetQueue } from "./target-queue.js";

export const PAYLOAD_TTL_MS = 3_600_000;
export const FAILED_TTL_MS = 2 * 3_600_000;

/** What the scripted target does with one profile in one attempt. */
export type Verdict = "deliver" | { fail: FailureReason } | { retry: FailureReason; pauseMs?: number; pauseUsesAttempt?: boolean };

export const ingestFacts = (query = "name=app"): ProfileFacts => ({ kind: "ingest", receivedAt: Date.now(), query, contentTypes: [] });

/** `http 400: <detail>` and the like, as the writer records them. */
export function httpFailure(status: number, detail = ""): FailureReason {
  return { reason: `http ${status}`, status, detail };
}

export interface ScriptedDelivery {
  deliver: BatchDelivery;
  /** Every attempt: the profiles (by their query) it was given. */
  attempts: string[][];
}

export interface ScriptOptions {
  /**
   * As a target's delivery with this many requests in flight: profiles go out in rounds of as many,
   * and no round follows one that met a pause (the circuit opened): `verdict` is asked about the
   * profiles sent. By default each is sent.
   */
  concurrency?: number;
}

/**
 * A delivery that asks `verdict` about each profile (by its `/ingest` query) and reports accordingly:
 * a retry as a try of the profile, as a target's delivery reports a request the target answered.
 */
export function scriptedDelivery(verdict: (query: string, payload: Buffer) => Verdict, options: ScriptOptions = {}): ScriptedDelivery {
  const attempts: string[][] = [];
  const deliver: BatchDelivery = async (profiles, report) => {
    attempts.push(profiles.map(({ ref }) => queryOf(ref)));
    const outcome: AttemptOutcome = {};
    const round = Math.max(1, options.concurrency ?? profiles.length);
    for (let start = 0; start < profiles.length && (options.concurrency === undefined || outcome.pauseMs === undefined); start += round) {
      for (const { ref, payload } of profiles.slice(start, start + round)) {
        const decided = verdict(queryOf(ref), payload);
        if (decided === "deliver") report.delivered(ref.index, [0]);
        else if ("fail" in decided) report.failed(ref.index, [0], decided.fail);
        else {
          // A pause that uses no attempt is the target out of reach: no try.
          if (decided.pauseMs === undefined || decided.pauseUsesAttempt === true) report.retried(ref.index, [0], decided.retry);
          outcome.retry = decided.retry;
          if (decided.pauseMs !== undefined) outcome.pauseMs = decided.pauseMs;
          if (decided.pauseUsesAttempt !== undefined) outcome.pauseUsesAttempt = decided.pauseUsesAttempt;
        }
      }
    }
    return outcome;
  };
  return { deliver, attempts };
}

function queryOf(ref: ProfileRef): string {
  return ref.kind === "ingest" ? ref.query : `push ${ref.index}`;
}

export interface QueueHarness {
  prefix: string;
  /** An `admin` connection, as the commands and the admin API use. */
  connection: RedisConnection;
  enqueuer: Enqueuer;
  store: BatchStore;
  /** The target's queue shard that holds `batchId`'s job (shard 0 without a batch id). */
  queue(target: string, batchId?: string): TargetQueue;
  /** Starts a worker for `target` with a scripted delivery; closed after the test. */
  worker(target: string, delivery: ScriptedDelivery, options?: Partial<BatchWorkerOptions>): BatchWorker;
  /**
   * Stores one profile per failure (one batch each), owed to `owedBy` (default: just `target`), and
   * has `target`'s worker fail each for good with its failure, in order, each in a later millisecond
   * than the one before. Resolves with the batch ids once every job is in `failed`.
   */
  fail(target: string, failures: readonly FailureReason[], owedBy?: readonly string[]): Promise<string[]>;
}

export interface QueueHarnessOptions {
  /** Every target's `max_backoff_retries` (3 by default). */
  maxBackoffRetries?: number;
  /** Queue shards per target (1 by default). */
  shards?: number;
}

export async function queueHarness(t: TestContext, redis: RedisEndpoint, targets: readonly string[], options: QueueHarnessOptions = {}): Promise<QueueHarness> {
  const { maxBackoffRetries = 3, shards = 1 } = options;
  const prefix = `t-${randomUUID()}`;
  const connection = createRedisConnection(redis, "admin");
  const producer = createRedisConnection(redis, "producer");
  const workerConnection = createRedisConnection(redis, "worker");
  for (const client of [connection, producer, workerConnection]) client.on("error", () => undefined);
  await Promise.all([connection, producer, workerConnection].map((client) => waitForRedis(client, 5_000)));
  const enqueuer = new Enqueuer({
    connection: producer,
    prefix,
    payloadTtlMs: PAYLOAD_TTL_MS,
    targets: targets.map((name) => targetConfig(name, { maxBackoffRetries })),
    queueShards: shards,
  });
  const queues = new Map(targets.map((name) => [name, targetQueues(connection, prefix, name, shards)]));
  const queueOf = (target: string, batchId?: string) => queues.get(target)![batchId === undefined ? 0 : shardOf(batchId, shards)]!;
  const workers: BatchWorker[] = [];
  t.after(async () => {
    await Promise.all(workers.map((worker) => worker.close()));
    await enqueuer.close();
    await Promise.all([...queues.values()].flat().map((queue) => queue.close()));
    for (const client of [connection, producer, workerConnection]) client.disconnect();
  });

  const worker = (target: string, delivery: ScriptedDelivery, options: Partial<BatchWorkerOptions> = {}) => {
    const started = new BatchWorker({
      target,
      shards,
      connection: workerConnection,
      prefix,
      attempts: attemptsFor({ maxBackoffRetries }),
      concurrency: 1,
      deliver: delivery.deliver,
      backoffMs: () => 10,
      failedPayloadTtlMs: FAILED_TTL_MS,
      ...options,
    });
    workers.push(started);
    return started;
  };

  return {
    prefix,
    connection,
    enqueuer,
    store: new BatchStore(connection, prefix),
    queue: queueOf,
    worker,
    fail: async (target, failures, owedBy = [target]) => {
      const ids: string[] = [];
      const script = scriptedDelivery((query) => ({ fail: failures[Number(query.slice(2))]! }));
      const split = new Set<string>();
      const running = worker(target, script, { observer: { failed: ({ jobId }) => split.add(jobId) } });
      try {
        // One flush at a time, each failed before the next is stored: each is a drain job of its own,
        // and "oldest first" is the order of `failures`. A busy machine fails one in a few ms.
        for (const i of failures.keys()) {
          const id = (await enqueuer.enqueue(Buffer.from(`profile ${i}`), ingestFacts(`n=${i}`), owedBy)).batchId;
          ids.push(id);
          const deadline = Date.now() + 5_000;
          // Split off, then failed, or already gone (a retention sweep running meanwhile).
          while (!split.has(id) || !["failed", "unknown"].includes(await queueOf(target, id).getJobState(id))) {
            if (Date.now() > deadline) throw new Error(`${target}: the job of failure ${i} not failed within 5 s`);
            await sleep(5);
          }
          // The next fails in a later millisecond: BullMQ orders jobs that failed in the same one by id.
          await sleep(2);
        }
      } finally {
        await running.close();
      }
      return ids;
    },
  };
}
