import { Queue } from "bullmq";
import type { RedisConnection } from "./redis-connection.js";
import type { BatchJobData, DrainJobData } from "./batch-data.js";
import { queueNameFor } from "./keys.js";

export type TargetQueue = Queue<BatchJobData | DrainJobData, void, typeof BATCH_JOB_NAME>;

/** The name of every job: each is a batch of profiles for one target. */
export const BATCH_JOB_NAME = "batch";

/** Name of the custom BullMQ backoff strategy every batch job uses (the writer's, capped, jittered). */
export const TARGET_BACKOFF = "target";

/**
 * Entries BullMQ keeps in a queue's event stream (it adds a few per job). Nothing reads them but
 * BullMQ's own tools, so a short history saves Redis memory: 10,000 by default.
 */
const EVENTS_KEPT = 1_000;

export interface TargetQueueOptions {
  /**
   * For producers inside HTTP handlers: never wait for the connection to become ready, and skip BullMQ's
   * version check. That check sends INFO at construction; on a fail-fast connection that is not ready
   * yet (still connecting, or Redis down) the INFO fails, and BullMQ keeps that failed start for good:
   * every later `add` would fail, even once Redis is up.
   */
  failFast?: boolean;
  /** Which of the target's queue shards (`--target.queue-shards`); 0 by default. */
  shard?: number;
}

/** The BullMQ queue of one target (or one of its shards), on a connection the caller owns (closing the queue leaves it open). */
export function targetQueue(connection: RedisConnection, prefix: string, targetName: string, options: TargetQueueOptions = {}): TargetQueue {
  const queue: TargetQueue = new Queue(queueNameFor(targetName, options.shard), {
    connection,
    prefix,
    skipWaitingForReady: options.failFast ?? false,
    skipVersionCheck: options.failFast ?? false,
    streams: { events: { maxLen: EVENTS_KEPT } },
  });
  // Errors of the shared connection reach its owner's listener; BullMQ repeats them on every queue.
  queue.on("error", () => undefined);
  return queue;
}

/** Every queue shard of a target, shard 0 first. */
export function targetQueues(
  connection: RedisConnection,
  prefix: string,
  targetName: string,
  shards: number,
  options: Omit<TargetQueueOptions, "shard"> = {},
): TargetQueue[] {
  return Array.from({ length: shards }, (_, shard) => targetQueue(connection, prefix, targetName, { ...options, shard }));
}
