/**
 * Key layout. A flush of profiles is one batch: its payload chunks, the set of targets whose job still
 * needs them and the copies of profiles detached from it all carry the hash tag `{<batch id>}`, so one script
 * can touch them together on a Redis Cluster, while batches spread over the slots. The prefix must
 * therefore contain no `{`, or its tag would put every key in one slot.
 */
function batchKey(prefix: string, batchId: string): string {
  return `${prefix}:batch:{${batchId}}`;
}

/** Chunk `chunk` of a batch's payload: the profiles' bytes laid end to end (see payload-layout.ts). */
export function chunkKey(prefix: string, batchId: string, chunk: number): string {
  return `${batchKey(prefix, batchId)}:chunk:${chunk}`;
}

/** The references of every profile of a batch (a JSON array of `ProfileRef`), which targets' segments point into. */
export function batchRefsKey(prefix: string, batchId: string): string {
  return `${batchKey(prefix, batchId)}:refs`;
}

/** Set of the targets whose batch job still needs the chunks. */
export function batchClaimsKey(prefix: string, batchId: string): string {
  return `${batchKey(prefix, batchId)}:claims`;
}

/** A profile copied out of its batch because it failed for good at some target. */
export function detachedProfileKey(prefix: string, batchId: string, index: number): string {
  return `${batchKey(prefix, batchId)}:profile:${index}`;
}

/** Set of the jobs (`<job id>@<target>`) that still hold a detached profile. */
export function detachedClaimsKey(prefix: string, batchId: string, index: number): string {
  return `${detachedProfileKey(prefix, batchId, index)}:claims`;
}

/**
 * The BullMQ queue name of a target's queue shard: `{<target name>}` for shard 0, `{<target name>~<shard>}`
 * for the others. BullMQ builds every key of a queue as `<prefix>:<queue name>:<suffix>` and its scripts
 * touch many of them at once, so the name is a hash tag of its own: one slot per queue, and queues (of
 * targets, and shards of one target) spread over a Cluster. BullMQ rejects `:` in queue names, `{`/`}`
 * would break the tag and `~` marks a shard, so those (and `%`) are percent-encoded; `/` stays readable.
 */
export function queueNameFor(targetName: string, shard = 0): string {
  const name = targetName.replace(/[%:{}~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return shard === 0 ? `{${name}}` : `{${name}~${shard}}`;
}

/**
 * The queue shard that carries a batch for a target with `shards` queues: taken from the batch id (a
 * random UUID), so that batches spread evenly (while a master is short of replicas, the enqueuer may
 * take the next shard: see batch-placement.ts).
 */
export function shardOf(batchId: string, shards: number): number {
  return shards <= 1 ? 0 : Number.parseInt(batchId.slice(0, 8), 16) % shards;
}

/**
 * Profiles and payload bytes of a queue shard's backlog (jobs waiting, delayed, active), a hash under
 * the queue's own hash tag so that one script can read it together with BullMQ's state keys. BullMQ
 * names job keys `<prefix>:<queue>:<job id>` (ours never say `backlog`), so the suffix cannot collide,
 * and `obliterate` removes it with the queue.
 */
export function backlogKey(prefix: string, targetName: string, shard = 0): string {
  return `${prefix}:${queueNameFor(targetName, shard)}:backlog`;
}

/**
 * The segments (a flush's profiles for the target) that wait for the queue shard's next drain job, a
 * list under the queue's hash tag: a flush appends in the MULTI that adds the drain job, and the job
 * claims them in one script with its own hash (see pending-segments.ts).
 */
export function pendingKey(prefix: string, targetName: string, shard = 0): string {
  return `${prefix}:${queueNameFor(targetName, shard)}:pending`;
}

/**
 * Running totals of a queue shard that outlive its jobs (profiles delivered, and discarded by purge or
 * retention), a hash under the queue's hash tag so that the scripts that complete or discard a job
 * count them in the same call. Unlike the backlog hash it is never reset: rates are taken over it.
 */
export function totalsKey(prefix: string, targetName: string, shard = 0): string {
  return `${prefix}:${queueNameFor(targetName, shard)}:totals`;
}

/** The set of every target that had a queue under the prefix (see target-registry.ts). */
export function targetsKey(prefix: string): string {
  return `${prefix}:targets`;
}

/** Which process exports the deployment's queue state to the metrics (see exporter-lease.ts); one key per prefix. */
export function exporterLeaseKey(prefix: string): string {
  return `${prefix}:metrics-exporter`;
}

/**
 * The deployment's `--target.queue-shards`, as its processes recorded it (see queue-shards-record.ts):
 * one key per prefix, without a hash tag (any slot).
 */
export function queueShardsKey(prefix: string): string {
  return `${prefix}:queue-shards`;
}
