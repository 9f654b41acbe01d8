import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import type { Job } from "bullmq";
import { Redis } from "ioredis";
import { BatchStore, parseRanges, PendingSegments, queueNameFor } from "@pyroscope-relay/queue";
import type { RedisServerHandle } from "@pyroscope-relay/testing";
import { startRelayProcess } from "../../e2e/support/relay-process.js";
import type { RelayProcess } from "../../e2e/support/relay-process.js";

export { relayConfig } from "../../e2e/support/relay-config.js";
export type { TargetSpec } from "../../e2e/support/relay-config.js";

export const prefix = "pyroscope-relay";

/**
 * The built command against `redis`, a writer at the priority it is deployed with: the faults are
 * those of ingest under load beside it. Logs at info unless asked: debug logs a line per profile,
 * which costs CPU the shared machine needs for the load itself.
 */
export function startRelay(command: "run" | "ingest" | "writer", config: string, redis: RedisServerHandle, args: string[] = []): Promise<RelayProcess> {
  const logLevel = args.some((arg) => arg.startsWith("--log.level")) ? [] : ["--log.level=info"];
  return startRelayProcess({ command, config, args: [`--redis.url=${redis.url}`, ...logLevel, ...args], writerPriority: "deployed" });
}

/** A plain client on the test's Redis, for inspection only. */
export function inspect(redis: RedisServerHandle): Redis {
  return new Redis({ path: redis.socketPath, maxRetriesPerRequest: 3, lazyConnect: false });
}

/** Payload keys (the batches' chunks and claims, and profiles detached for failed jobs) currently in Redis. */
export async function payloadKeys(client: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await client.scan(cursor, "MATCH", `${prefix}:batch:*`, "COUNT", 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  return keys;
}

/** The jobs a target's queue holds in BullMQ's failed set. */
export async function failedJobs(client: Redis, target: string): Promise<Job[]> {
  const queue = new Queue(queueNameFor(target), { connection: client, prefix });
  try {
    return await queue.getFailed(0, -1);
  } finally {
    await queue.close();
  }
}

/** The `/ingest` queries of the profiles that a target's active drain jobs claimed. */
export async function claimedQueries(client: Redis, target: string): Promise<string[]> {
  const queue = new Queue(queueNameFor(target), { connection: client, prefix });
  try {
    const pending = new PendingSegments(client, prefix, target);
    const store = new BatchStore(client, prefix);
    const claims = await Promise.all((await queue.getActive(0, -1)).map(async (job) => store.resolve(job.id!, (await pending.claimed(job.id!)) ?? [])));
    return claims.flat().flatMap((segment) => ("profiles" in segment ? segment.profiles : []).flatMap((ref) => (ref.kind === "ingest" ? [ref.query] : [])));
  } finally {
    await queue.close();
  }
}

/**
 * How many profiles the target's active drain jobs have saved as done: the `done` index ranges of
 * their progress (batch-progress.ts), what a writer that takes a job over after a crash skips.
 */
export async function savedDone(client: Redis, target: string): Promise<number> {
  const queue = new Queue(queueNameFor(target), { connection: client, prefix });
  try {
    const progress: unknown[] = (await queue.getActive(0, -1)).map((job) => job.progress);
    const ranges = progress.flatMap((saved) =>
      typeof saved === "object" && saved !== null && "done" in saved && typeof saved.done === "string" ? parseRanges(saved.done) : [],
    );
    return ranges.reduce((sum, [first, last]) => sum + (last - first + 1), 0);
  } finally {
    await queue.close();
  }
}

/** How many profiles each batch waiting for a target holds (its segments), oldest first. */
export async function waitingBatches(client: Redis, target: string): Promise<number[]> {
  return (await new PendingSegments(client, prefix, target).list()).map((segment) => segment.profiles.length);
}

/**
 * Resolves once no job of the targets' queues is waiting, active, delayed or prioritized and no flush
 * waits for a drain job: a delivery whose completion Redis lost comes back only once its lock expired
 * and a stalled check saw it, so duplicates are counted after that.
 */
export async function quietQueues(client: Redis, targets: string[], timeoutMs: number): Promise<boolean> {
  const queues = targets.map((target) => new Queue(queueNameFor(target), { connection: client, prefix }));
  try {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(500)) {
      const counts = await Promise.all(queues.map((queue) => queue.getJobCounts("waiting", "active", "delayed", "prioritized", "wait")));
      const waiting = await Promise.all(targets.map((target) => waitingBatches(client, target)));
      if (counts.every((count) => Object.values(count).every((n) => n === 0)) && waiting.every((sizes) => sizes.length === 0)) return true;
    }
    return false;
  } finally {
    await Promise.all(queues.map((queue) => queue.close()));
  }
}
