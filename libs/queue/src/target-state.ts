import { QueueKeys } from "bullmq";
import { LIMITER_MAX } from "./target-pause.js";
import type { DiscardReason } from "./job-lifecycle.js";
import { DRAIN_DEDUPLICATION_ID } from "./batch-job.js";
import { backlogKey, pendingKey, queueNameFor, totalsKey } from "./keys.js";
import { LuaScript } from "./lua-script.js";
import type { RedisConnection } from "./redis-connection.js";

export interface TargetState {
  target: string;
  /**
   * Job counts summed over the target's queue shards. `waiting` counts batches: each segment pending
   * for a drain job, and each job waiting but a drain job that has claimed nothing yet.
   */
  jobs: { waiting: number; delayed: number; active: number; failed: number; prioritized: number };
  /** What the target's backlog counters hold now (the same counters the backlog bounds use). */
  backlog: { bytes: number; profiles: number };
  /**
   * Age in ms of the oldest batch waiting (a job waiting or prioritized, not delayed, or a pending
   * segment), or null when none waits; measured from a job's creation or last replay, from a segment's
   * first profile's arrival. Only the jobs next in line and the first segment are looked at (see
   * `NEXT_IN_LINE`), so that a scrape costs the same however long the queue is.
   */
  oldestWaitingAgeMs: number | null;
  /** Epoch ms until which the writers' circuit breaker pauses the target (BullMQ rateLimit), or null when closed. */
  circuitOpenUntil: number | null;
  /**
   * Profiles delivered to the target since its queue was created (monotonic counter kept in Redis, for
   * rates): the profiles of every batch job that completed. A profile part of which failed for good
   * and was split off into a failed batch counts here too.
   */
  deliveredProfiles: number;
  /**
   * Profiles and bytes of failed batches discarded since the queue was created (monotonic), by why, as
   * Alloy counts what it drops: a Push's samples and their raw profiles' bytes (see `alloyCountOf`).
   */
  discarded: Record<DiscardReason, { profiles: number; bytes: number }>;
}

/**
 * Jobs looked at, from the head of the wait list and of the prioritized set, for the oldest waiting.
 * The head is the job that has waited longest in line; a retried job rejoins at the tail with its old
 * creation time, so the few behind the head are looked at too.
 */
const NEXT_IN_LINE = 10;

/** BullMQ's state keys the script reads, in its KEYS order. */
const STATE_KEYS = ["wait", "paused", "active", "delayed", "prioritized", "failed", "limiter"] as const;

// KEYS: STATE_KEYS' keys, the backlog hash, the totals hash, the pending list, the drain jobs'
// deduplication key (BullMQ's, holding the id of the drain job that waits or is active). ARGV: the
// queue's key prefix (job keys are that plus the id), NEXT_IN_LINE, LIMITER_MAX. One shard's state in
// one call, all keys of its slot (job hashes included, under the same hash tag). A drain job that
// has not claimed yet is no batch (waiting, or delayed before it may run): the segments it will
// claim are counted instead. A replay's time is found in the job's data text:
// `"replayedAt":<digits>` (inside a JSON string the quotes would be escaped, so it cannot match there).
const readState = new LuaScript(
  "target_state_read",
  `
local counts = {}
for i = 1, 6 do
  counts[i] = (i <= 3) and redis.call('LLEN', KEYS[i]) or redis.call('ZCARD', KEYS[i])
end
local pending = redis.call('LLEN', KEYS[10])
local waiting = counts[1] + counts[2] + pending
local delayed = counts[4]
local drain = redis.call('GET', KEYS[11])
if drain then
  local job = ARGV[1] .. drain
  if redis.call('EXISTS', job) == 1 and redis.call('HEXISTS', job, 'claimed') == 0 then
    if redis.call('ZSCORE', KEYS[4], drain) then
      delayed = delayed - 1
    elseif redis.call('HEXISTS', job, 'processedOn') == 0 then
      waiting = waiting - 1
    end
  end
end
local queued = counts[1] + counts[2] + counts[3] + counts[4] + counts[5] + pending
local backlog = {0, 0}
if queued > 0 then
  local held = redis.call('HMGET', KEYS[8], 'profiles', 'bytes')
  backlog = {tonumber(held[1] or 0), tonumber(held[2] or 0)}
end
local since = false
local function consider(ids)
  for _, id in ipairs(ids) do
    local job = redis.call('HMGET', ARGV[1] .. id, 'timestamp', 'data')
    local at = tonumber(job[1])
    if at then
      local replayed = job[2] and tonumber(string.match(job[2], '"replayedAt":(%d+)'))
      if replayed and replayed > at then at = replayed end
      if not since or at < since then since = at end
    end
  end
end
local n = tonumber(ARGV[2])
consider(redis.call('LRANGE', KEYS[1], -n, -1))
consider(redis.call('ZRANGE', KEYS[5], 0, n - 1))
local first = redis.call('LINDEX', KEYS[10], 0)
local arrived = first and tonumber(string.match(first, '"receivedAt":(%d+)'))
if arrived and (not since or arrived < since) then since = arrived end
local pause = 0
local limiter = tonumber(redis.call('GET', KEYS[7]) or 0)
if limiter and limiter >= tonumber(ARGV[3]) then pause = redis.call('PTTL', KEYS[7]) end
local totals = redis.call('HGETALL', KEYS[9])
return {waiting, counts[3], delayed, counts[5], counts[6], backlog[1], backlog[2], since and tostring(since) or false, pause, totals}
`,
);

/**
 * What Redis holds about each of `targets` now, summed over its `shards` queue shards: one script
 * per shard, each on the shard's slot (a Cluster runs them on their masters), no key listing. Reads
 * only: for the metrics and the admin API, at any rate they ask.
 */
export async function readTargetStates(connection: RedisConnection, prefix: string, targets: readonly string[], shards = 1): Promise<TargetState[]> {
  readState.define(connection);
  const keys = new QueueKeys(prefix);
  return Promise.all(
    targets.map(async (target) => {
      const readings = await Promise.all(
        Array.from({ length: shards }, async (_, shard) => {
          const queue = queueNameFor(target, shard);
          const reply = await readState.run(
            connection,
            [
              ...STATE_KEYS.map((state) => keys.toKey(queue, state)),
              backlogKey(prefix, target, shard),
              totalsKey(prefix, target, shard),
              pendingKey(prefix, target, shard),
              keys.toKey(queue, `de:${DRAIN_DEDUPLICATION_ID}`),
            ],
            [keys.toKey(queue, ""), NEXT_IN_LINE, LIMITER_MAX],
          );
          return shardState(reply as ShardReply);
        }),
      );
      return sumShards(target, readings, Date.now());
    }),
  );
}

type ShardReply = [number, number, number, number, number, number, number, string | null, number, string[]];

interface ShardState {
  jobs: TargetState["jobs"];
  backlog: TargetState["backlog"];
  /** Epoch ms the oldest job next in line has waited since, or null. */
  waitingSince: number | null;
  /** Milliseconds the pause has left; 0 when the circuit is closed. */
  pauseMs: number;
  totals: Map<string, number>;
}

function shardState([waiting, active, delayed, prioritized, failed, profiles, bytes, since, pauseMs, totals]: ShardReply): ShardState {
  const fields = new Map<string, number>();
  for (let i = 0; i + 1 < totals.length; i += 2) fields.set(totals[i]!, Number(totals[i + 1]));
  return {
    jobs: { waiting, delayed, active, failed, prioritized },
    backlog: { bytes, profiles },
    waitingSince: since === null ? null : Number(since),
    pauseMs,
    totals: fields,
  };
}

function sumShards(target: string, shards: readonly ShardState[], now: number): TargetState {
  const sum = (pick: (shard: ShardState) => number) => shards.reduce((total, shard) => total + pick(shard), 0);
  const total = (field: string) => sum((shard) => shard.totals.get(field) ?? 0);
  const since = shards.flatMap((shard) => (shard.waitingSince === null ? [] : [shard.waitingSince]));
  // Every shard pauses together; the longest pause is the target's.
  const pauseMs = Math.max(0, ...shards.map((shard) => shard.pauseMs));
  const discarded = (reason: DiscardReason) => ({ profiles: total(`discarded_profiles:${reason}`), bytes: total(`discarded_bytes:${reason}`) });
  return {
    target,
    jobs: {
      waiting: sum((shard) => shard.jobs.waiting),
      delayed: sum((shard) => shard.jobs.delayed),
      active: sum((shard) => shard.jobs.active),
      failed: sum((shard) => shard.jobs.failed),
      prioritized: sum((shard) => shard.jobs.prioritized),
    },
    backlog: { bytes: sum((shard) => shard.backlog.bytes), profiles: sum((shard) => shard.backlog.profiles) },
    // A clock behind the writer's that stamped the job must not make an age negative.
    oldestWaitingAgeMs: since.length === 0 ? null : Math.max(0, now - Math.min(...since)),
    circuitOpenUntil: pauseMs > 0 ? now + pauseMs : null,
    deliveredProfiles: total("delivered_profiles"),
    discarded: { purge: discarded("purge"), retention: discarded("retention") },
  };
}
