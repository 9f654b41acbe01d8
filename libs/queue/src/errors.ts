import { flagTable } from "@pyroscope-relay/config";
import { queueShardsKey } from "./keys.js";

/** A Redis URL the relay cannot use; the message shows the URL with its password redacted. */
export class InvalidRedisUrlError extends Error {
  override name = "InvalidRedisUrlError";
}

/**
 * A profile could not be queued because Redis refused or did not answer in time. Nothing the client
 * sent is lost by answering 503: it retries, and whatever was stored for this attempt is released.
 */
export class QueueUnavailableError extends Error {
  override name = "QueueUnavailableError";
}

/** The wait for Redis was asked to stop: a shutdown signal reached a process still starting. */
export class RedisWaitStoppedError extends Error {
  override name = "RedisWaitStoppedError";
}

/** `enqueue` was asked for no target, a repeated one, or one this process has no queue for. */
export class InvalidTargetsError extends Error {
  override name = "InvalidTargetsError";
  constructor(
    message: string,
    readonly targets: readonly string[],
  ) {
    super(message);
  }
}

/** A target the request was refused for: its backlog as the check saw it. */
export interface FullTarget {
  target: string;
  profiles: number;
  bytes: number;
}

/**
 * Policy `reject`: at least one target's backlog is at its bound, so the whole request is refused
 * (the client should retry later) and nothing was stored for any target.
 */
export class BacklogFullError extends Error {
  override name = "BacklogFullError";
  constructor(
    message: string,
    readonly targets: readonly FullTarget[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Redis is at or near its `maxmemory`: ingest refuses before writing, so that the memory left stays for
 * the writers, whose completions free it. A `QueueUnavailableError`: the client retries.
 */
export class RedisMemoryFullError extends QueueUnavailableError {
  override name = "RedisMemoryFullError";
}

/**
 * Fewer replicas than `--redis.min-replicas` confirmed a write in time: it is on the master only, and a
 * failover could lose it. A `QueueUnavailableError`: the client retries.
 */
export class ReplicationError extends QueueUnavailableError {
  override name = "ReplicationError";
}

/**
 * A master the flush would write to has fewer replicas online than `--redis.min-replicas`: the flush
 * is refused before anything is written (its WAIT could only fall short). A `QueueUnavailableError`:
 * the client retries.
 */
export class ReplicasMissingError extends QueueUnavailableError {
  override name = "ReplicasMissingError";
}

/**
 * A drain job claimed segments, but its claim cannot be read back (a segment missing from its hash,
 * or an earlier version's claim that does not parse). Nothing is delivered or dropped: the job fails
 * its attempt, keeps its claim and, once BullMQ gives up, stays failed for an operator to look at.
 */
export class UnreadableClaimError extends Error {
  override name = "UnreadableClaimError";
  constructor(
    readonly jobId: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(`drain job ${jobId}: its claim cannot be read: ${problem}`, options);
  }
}

/** `--redis.url` names a node of a Redis Cluster, whose keys it would answer with MOVED: the cluster's nodes must be given instead. */
export class RedisClusterNodeError extends Error {
  override name = "RedisClusterNodeError";
}

/**
 * The deployment's queues have more shards per target than this process' `--target.queue-shards`
 * (recorded in Redis, see queue-shards-record.ts): it would neither deliver, count, replay nor purge
 * the batches of the shards beyond its own. A mistake of that flag, said as a SettingsError says one
 * (the CLI exits 2 with it at start); a running process that finds the record raised is not ready.
 */
export class QueueShardsMismatchError extends Error {
  override readonly name = "QueueShardsMismatchError";
  /** The flag, as errors about it name it (with its environment variable). */
  readonly setting = settingName("target.queue-shards");

  constructor(
    readonly prefix: string,
    /** The deployment's count, as recorded. */
    readonly recorded: number,
    /** This process' `--target.queue-shards`. */
    readonly shards: number,
  ) {
    const missed = recorded - shards === 1 ? `shard ${shards}` : `shards ${shards} to ${recorded - 1}`;
    super(
      `${settingName("target.queue-shards")}: ${shards}, but the relay's queues under prefix "${prefix}" have ${recorded} shards per target ` +
        `(recorded in Redis key ${queueShardsKey(prefix)}): this process misses the batches of ${missed}; ` +
        `give every process --target.queue-shards ${recorded} (to lower the count instead, see the README's Redis Cluster section)`,
    );
  }
}

/** A flag as errors about it name it: with its environment variable, as parseSettings does. */
function settingName(name: string): string {
  const flag = flagTable.find((candidate) => candidate.name === name);
  return flag?.kind === "setting" && flag.env !== undefined ? `--${name} (or ${flag.env})` : `--${name}`;
}
