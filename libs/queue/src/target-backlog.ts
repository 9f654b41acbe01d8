import { QueueKeys } from "bullmq";
import type { RedisConnection } from "./redis-connection.js";
import type { ProfileRef } from "./batch-data.js";
import { backlogKey, pendingKey, queueNameFor, totalsKey } from "./keys.js";
import { LuaScript } from "./lua-script.js";
import type { Transaction } from "./transaction.js";

/** Profiles and payload bytes in a target's backlog: its jobs waiting, delayed or in delivery. */
export interface BacklogUsage {
  profiles: number;
  bytes: number;
}

// KEYS: backlog hash, job hash. ARGV: profiles, bytes. The job hash remembers what it counted (field
// `backlog`, profiles and bytes, and `backlog_generation`, the backlog's generation then), so that
// counting out subtracts exactly that, once, however often a crash repeats it, and nothing once a
// reset dropped it (read, below). The generation has a field of its own: a writer of an earlier
// version, in a rolling update, reads `backlog` as it always did. A job counted already (a replay
// retried) is not counted twice. Returns the backlog after.
const countIn = new LuaScript(
  "backlog_count_in",
  `
if redis.call('EXISTS', KEYS[2]) == 1 and not redis.call('HGET', KEYS[2], 'backlog') then
  redis.call('HSET', KEYS[2], 'backlog', ARGV[1] .. ':' .. ARGV[2], 'backlog_generation', redis.call('HGET', KEYS[1], 'generation') or 0)
  redis.call('HINCRBY', KEYS[1], 'profiles', ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'bytes', ARGV[2])
end
return redis.call('HMGET', KEYS[1], 'profiles', 'bytes')
`,
);

/**
 * Lua for the scripts that count a job out (given the backlog hash and the job hash): subtracts what
 * the job counted in, if it still counts and the backlog was not reset since (a reset dropped its
 * count already; the counts of what came after are not its to take). A count of an earlier version,
 * without its generation, is subtracted, clamped at 0. Returns the profiles it counted in, or false
 * when the job no longer counted.
 */
export const COUNT_OUT_LUA = `
local function countOut(backlog, job)
  local counted, generation = unpack(redis.call('HMGET', job, 'backlog', 'backlog_generation'))
  if not counted then return false end
  redis.call('HDEL', job, 'backlog', 'backlog_generation')
  local profiles, bytes = string.match(counted, '^(%d+):(%d+)')
  if not generation or generation == (redis.call('HGET', backlog, 'generation') or '0') then
    for field, delta in pairs({ profiles = -tonumber(profiles), bytes = -tonumber(bytes) }) do
      if redis.call('HINCRBY', backlog, field, delta) < 0 then redis.call('HSET', backlog, field, 0) end
    end
  end
  return tonumber(profiles)
end
`;

// KEYS: backlog hash, job hash.
const countOut = new LuaScript("backlog_count_out", `${COUNT_OUT_LUA}\nreturn countOut(KEYS[1], KEYS[2]) and 1 or 0`);

// KEYS: backlog hash, job hash, totals hash. ARGV: profiles of the job that failed for good. A
// completed job's other profiles count as delivered once, with its counting out: a completion
// repeated after a crash finds the job counted out and adds nothing.
const countOutDelivered = new LuaScript(
  "backlog_count_out_delivered",
  `${COUNT_OUT_LUA}
local profiles = countOut(KEYS[1], KEYS[2])
if not profiles then return 0 end
redis.call('HINCRBY', KEYS[3], 'delivered_profiles', math.max(0, profiles - tonumber(ARGV[1])))
return 1
`,
);

// KEYS: backlog hash, then BACKLOG_STATES' keys (lists, then sorted sets), then the pending list. A
// job lost between its counting in and out (a job BullMQ failed by itself for stalling, whose writer
// died before counting it out) would hold its count for ever; with nothing queued or pending the
// backlog is empty, so it is reset then, to a new generation: a job that counted in before and is
// counted out later (a drain job BullMQ failed, split off by the next sweep) takes nothing from the
// counts of the segments that came after. Nothing is written when the counts are 0 already.
const read = new LuaScript(
  "backlog_read",
  `
local queued = redis.call('LLEN', KEYS[2]) + redis.call('LLEN', KEYS[3]) + redis.call('LLEN', KEYS[4])
  + redis.call('ZCARD', KEYS[5]) + redis.call('ZCARD', KEYS[6]) + redis.call('LLEN', KEYS[7])
if queued == 0 then
  local counts = redis.call('HMGET', KEYS[1], 'profiles', 'bytes')
  if tonumber(counts[1] or 0) ~= 0 or tonumber(counts[2] or 0) ~= 0 then
    redis.call('HSET', KEYS[1], 'profiles', 0, 'bytes', 0)
    redis.call('HINCRBY', KEYS[1], 'generation', 1)
  end
  return {0, 0}
end
return redis.call('HMGET', KEYS[1], 'profiles', 'bytes')
`,
);

/** BullMQ states that make up a backlog, in the order the read script takes them. */
const BACKLOG_STATES = ["wait", "paused", "active", "delayed", "prioritized"] as const;

/**
 * The Redis side of a target's backlog bound, per queue shard: counters of the profiles and bytes its
 * pending segments and jobs hold, counted in with a segment's append (in the flush's MULTI; the drain
 * job that claims it takes the count over) or a job's replay, counted out when the job completes or
 * fails for good. Reading it costs one script; the enqueuer reads it in the background, not per request.
 */
export class TargetBacklog {
  /** The backlog hash, for scripts of the queue's slot that count a job out with other changes. */
  readonly key: string;
  /** The queue shard's totals hash (keys.ts), which counting a completed job out adds to. */
  readonly totalsKey: string;
  private readonly keys: QueueKeys;
  private readonly queueName: string;
  private readonly pendingKey: string;

  constructor(
    private readonly redis: RedisConnection,
    prefix: string,
    readonly target: string,
    readonly shard = 0,
  ) {
    this.key = backlogKey(prefix, target, shard);
    this.totalsKey = totalsKey(prefix, target, shard);
    this.keys = new QueueKeys(prefix);
    this.queueName = queueNameFor(target, shard);
    this.pendingKey = pendingKey(prefix, target, shard);
    for (const script of [countIn, countOut, countOutDelivered, read]) script.define(redis);
  }

  /**
   * Counts a pending segment in, inside `transaction`, with its append (the MULTI makes the pair
   * atomic); the drain job that claims it takes over the count (pending-segments.ts). Its two results
   * are the backlog's profiles and bytes after.
   */
  queueCountIn(transaction: Transaction, usage: BacklogUsage): void {
    transaction.add("hincrby", this.key, "profiles", usage.profiles);
    transaction.add("hincrby", this.key, "bytes", usage.bytes);
  }

  /** Counts job `jobId` back in (replay); no bound is checked: the operator decided. */
  async countIn(jobId: string, usage: BacklogUsage): Promise<BacklogUsage> {
    return usageFromReply(await countIn.run(this.redis, [this.key, this.jobKey(jobId)], [usage.profiles, usage.bytes]));
  }

  /** Counts job `jobId` out (it completed, failed for good or was removed); idempotent. */
  async countOut(jobId: string): Promise<boolean> {
    return (await countOut.run(this.redis, [this.key, this.jobKey(jobId)])) === 1;
  }

  /**
   * Counts out job `jobId`, which completed: the profiles it counted in, but `failed` (those it split
   * off into failed jobs, at any attempt), are added to the shard's delivered total in the same
   * script. Idempotent, as `countOut`.
   */
  async countOutDelivered(jobId: string, failed = 0): Promise<boolean> {
    return (await countOutDelivered.run(this.redis, [this.key, this.jobKey(jobId), this.totalsKey], [failed])) === 1;
  }

  /** What job `jobId` counts in the backlog now: nothing once counted out. */
  async countedBy(jobId: string): Promise<BacklogUsage> {
    const counted = await this.redis.hget(this.jobKey(jobId), "backlog");
    const [profiles, bytes] = (counted ?? "0:0").split(":");
    return { profiles: Number(profiles) || 0, bytes: Number(bytes) || 0 };
  }

  /** The backlog as Redis has it now. */
  async read(): Promise<BacklogUsage> {
    const states = BACKLOG_STATES.map((state) => this.keys.toKey(this.queueName, state));
    return usageFromReply(await read.run(this.redis, [this.key, ...states, this.pendingKey]));
  }

  private jobKey(jobId: string): string {
    return this.keys.toKey(this.queueName, jobId);
  }
}

/** A target's backlog over all its queue shards, as Redis has it now. */
export async function readTargetBacklog(connection: RedisConnection, prefix: string, target: string, shards = 1): Promise<BacklogUsage> {
  const readings = await Promise.all(Array.from({ length: shards }, (_, shard) => new TargetBacklog(connection, prefix, target, shard).read()));
  return readings.reduce((sum, reading) => ({ profiles: sum.profiles + reading.profiles, bytes: sum.bytes + reading.bytes }), { profiles: 0, bytes: 0 });
}

/** What `profiles` count in a backlog. */
export function usageOf(profiles: readonly ProfileRef[]): BacklogUsage {
  return { profiles: profiles.length, bytes: profiles.reduce((sum, ref) => sum + ref.size, 0) };
}

/** A count-in or read result: `[profiles, bytes]`, each nil while the backlog is empty. */
export function usageFromReply(reply: unknown): BacklogUsage {
  const [profiles, bytes] = reply as [string | number | null, string | number | null];
  return { profiles: Number(profiles ?? 0), bytes: Number(bytes ?? 0) };
}
