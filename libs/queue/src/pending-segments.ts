import { QueueKeys } from "bullmq";
import { drainJobData, isLost, pendingSegment, type BatchSegment, type ClaimedSegment, type PendingSegment, type SegmentPointer } from "./batch-data.js";
import { DRAIN_DEDUPLICATION_ID } from "./batch-job.js";
import { BatchStore } from "./batch-store.js";
import { UnreadableClaimError } from "./errors.js";
import { backlogKey, pendingKey, queueNameFor } from "./keys.js";
import { LuaScript } from "./lua-script.js";
import type { RedisConnection } from "./redis-connection.js";
import type { BacklogUsage } from "./target-backlog.js";
import type { Transaction } from "./transaction.js";

/** How much one drain job claims at most: it always claims at least one segment, however large. */
export interface DrainBounds {
  maxProfiles: number;
  /** Payload bytes of the claimed profiles. */
  maxBytes: number;
}

/**
 * A writer keeps a drain job's payloads in memory while it delivers them, and saves its progress as
 * one value: a few hundred profiles keep both small, and are many flushes' worth under load.
 */
export const DRAIN_BOUNDS: DrainBounds = { maxProfiles: 500, maxBytes: 16 * 1024 * 1024 };

// KEYS: the job hash, the pending list, BullMQ's deduplication key of drain jobs, the backlog hash. ARGV: max profiles,
// max bytes, the job id. A job claims once, the first time it runs: later runs (a retry, a writer
// recovering it after a crash) find its claim and get the same segments, or none once the job was
// counted out of the backlog (its completion ran, but not BullMQ's). Each entry is
// `<profiles>:<bytes>:<segment JSON>`, the segment a pointer into its batch's references: a few
// dozen bytes, since a claim copies its entries through Lua, into the job's hash, into the reply
// and into the AOF. The claimed entries become fields of the job's hash, as they are (`segment:1`
// ...), with their number in `segments`: joining them into one value in Lua (`table.concat`) took
// about half of the claim's time. The job's `backlog` field holds
// what they count in the backlog, `backlog_generation` its generation (target-backlog.ts), so that
// counting the job out subtracts exactly that. The claim ends the job's deduplication: a flush from now on adds a drain job of its
// own. Returns how many entries still wait, then `entries` and the claimed entries, or `data` and
// the job's data (a claim of a version that kept the segments there); false when the job is gone.
const claim = new LuaScript(
  "drain_claim",
  `
local job, list = KEYS[1], KEYS[2]
if redis.call('EXISTS', job) == 0 then return false end
if redis.call('HEXISTS', job, 'claimed') == 1 then
  local count = tonumber(redis.call('HGET', job, 'segments'))
  if not count then return {redis.call('LLEN', list), 'data', redis.call('HGET', job, 'data')} end
  -- Counted out of the backlog: its completion ran, releasing its batches, and only BullMQ's
  -- completion of the job was lost (a crash, a lock lost): nothing of it is left to deliver.
  if count > 0 and redis.call('HEXISTS', job, 'backlog') == 0 then return {redis.call('LLEN', list), 'entries'} end
  local reply = {redis.call('LLEN', list), 'entries'}
  for i = 1, count do
    local entry = redis.call('HGET', job, 'segment:' .. i)
    -- A segment gone from the hash: say which, rather than reply without it.
    if not entry then return {reply[1], 'missing', 'segment:' .. i .. ' of ' .. count} end
    reply[#reply + 1] = entry
  end
  return reply
end
local maxProfiles, maxBytes = tonumber(ARGV[1]), tonumber(ARGV[2])
local reply, fields, taken, profiles, bytes = {0, 'entries'}, {}, 0, 0, 0
-- The window starts at one entry and doubles: an entry of an earlier version holds every profile's
-- references (over 100 KiB for a flush of hundreds), and LRANGE copies its whole window into Lua.
local window, full = 1, false
while not full do
  local entries = redis.call('LRANGE', list, taken, taken + window - 1)
  for _, entry in ipairs(entries) do
    local p, b = string.match(entry, '^(%d+):(%d+):')
    p, b = tonumber(p), tonumber(b)
    if taken > 0 and (profiles + p > maxProfiles or bytes + b > maxBytes) then full = true break end
    taken, profiles, bytes = taken + 1, profiles + p, bytes + b
    reply[#reply + 1] = entry
    fields[#fields + 1] = 'segment:' .. taken
    fields[#fields + 1] = entry
    -- HSET in parts: Lua's unpack is bounded by its C stack.
    if #fields >= 400 then redis.call('HSET', job, unpack(fields)) fields = {} end
  end
  if #entries < window then break end
  window = math.min(window * 2, 64)
end
if #fields > 0 then redis.call('HSET', job, unpack(fields)) end
redis.call('LTRIM', list, taken, -1)
redis.call('HSET', job, 'claimed', 1, 'segments', taken)
if profiles > 0 then redis.call('HSET', job, 'backlog', profiles .. ':' .. bytes, 'backlog_generation', redis.call('HGET', KEYS[4], 'generation') or 0) end
if redis.call('GET', KEYS[3]) == ARGV[3] then redis.call('DEL', KEYS[3]) end
reply[1] = redis.call('LLEN', list)
return reply
`,
);

// KEYS: BullMQ's deduplication key of drain jobs. ARGV: the job id. Deletes the key if the job holds it.
const releaseDeduplication = new LuaScript(
  "drain_release_deduplication",
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`,
);

// KEYS: the pending list, the backlog hash, the set of entries withdrawn lately. ARGV: the entry, its
// profiles, its bytes, how long the set remembers. Takes back a segment no drain job claimed yet, with
// its count in the backlog (clamped at 0, as counting out is). 1 when it was still waiting, or this
// script took it back already: ioredis sends a command again after a reconnect (a Cluster's to the
// promoted replica), and a second run must not take the first's withdrawal for a drain job's claim,
// or the batch it points into would be held until its TTL.
const withdraw = new LuaScript(
  "pending_withdraw",
  `
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return redis.call('SISMEMBER', KEYS[3], ARGV[1]) end
for field, delta in pairs({ profiles = -tonumber(ARGV[2]), bytes = -tonumber(ARGV[3]) }) do
  if redis.call('HINCRBY', KEYS[2], field, delta) < 0 then redis.call('HSET', KEYS[2], field, 0) end
end
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return 1
`,
);

/** How long a withdrawal is remembered: longer than a command is sent again after a failover. */
const WITHDRAWN_MEMORY_MS = 10 * 60 * 1000;

/** What a drain job claimed, as its entries, and whether more segments wait (beyond its bounds). */
export interface PendingClaim {
  entries: PendingSegment[];
  more: boolean;
}

/** What a drain job claimed, with its profiles, and whether more segments wait (beyond its bounds). */
export interface Claim {
  /** In claim order; a segment whose batch's references are gone is a LostSegment (see `BatchStore.resolve`). */
  claimed: ClaimedSegment[];
  more: boolean;
}

/**
 * The segments that wait for a target's queue shard: each flush appends a pointer to the profiles it
 * has for the target, and the shard's drain job claims whatever waits when it first runs. While a drain job waits
 * to claim, it holds BullMQ's deduplication key of drain jobs (see batch-job.ts), and a flush that
 * finds the key in the same MULTI as its append leaves the new segment to that job; only a flush
 * that finds none adds a drain job. So under load a job carries many flushes, and its life in BullMQ
 * is paid once for all of them.
 */
export class PendingSegments {
  readonly key: string;
  private readonly keys: QueueKeys;
  private readonly queueName: string;
  private readonly deduplicationKey: string;
  private readonly backlogKey: string;

  constructor(
    private readonly redis: RedisConnection,
    readonly prefix: string,
    target: string,
    shard = 0,
  ) {
    this.key = pendingKey(prefix, target, shard);
    this.keys = new QueueKeys(prefix);
    this.queueName = queueNameFor(target, shard);
    this.deduplicationKey = this.keys.toKey(this.queueName, `de:${DRAIN_DEDUPLICATION_ID}`);
    this.backlogKey = backlogKey(prefix, target, shard);
    for (const script of [claim, withdraw, releaseDeduplication]) script.define(redis);
  }

  /** The list entry of `segment`, which counts `usage` in the backlog. */
  static entry(segment: SegmentPointer, usage: BacklogUsage): string {
    return `${usage.profiles}:${usage.bytes}:${JSON.stringify(segment)}`;
  }

  /** Appends `entry` in `transaction` (one result: the list's length). */
  queueAppend(transaction: Transaction, entry: string): void {
    transaction.add("rpush", this.key, entry);
  }

  /**
   * Asks in `transaction`, after an append, whether a drain job waits that will claim it (one result:
   * 1 or 0). A drain job gives up the key only when it claims, which takes every segment appended
   * before, or to claim later (see batch-worker.ts); when a claim stops at its bounds, the writer adds
   * the next drain job.
   */
  queueDrainWaits(transaction: Transaction): void {
    transaction.add("exists", this.deduplicationKey);
  }

  /**
   * The segments drain job `jobId` delivers, as their entries (see BatchStore.resolve): those it
   * claimed before, or those waiting now up to `bounds` (none when nothing waits). Undefined when the
   * job is gone.
   */
  async claim(jobId: string, bounds: DrainBounds): Promise<PendingClaim | undefined> {
    const reply = await claim.run(
      this.redis,
      [this.keys.toKey(this.queueName, jobId), this.key, this.deduplicationKey, this.backlogKey],
      [bounds.maxProfiles, bounds.maxBytes, jobId],
    );
    if (!Array.isArray(reply)) return undefined;
    const [left, kind, ...claimed] = reply as [number, "entries" | "data" | "missing", ...string[]];
    // Delivering less than the claim would complete the job and lose the rest: fail the attempt instead.
    if (kind === "missing") throw new UnreadableClaimError(jobId, `${claimed[0]} is missing`);
    const entries = kind === "entries" ? claimedSegments(jobId, claimed) : segmentsOfEarlierClaim(jobId, claimed[0]);
    return { entries, more: left > 0 };
  }

  /**
   * What drain job `jobId` claimed, as its entries; undefined when it is gone or claimed nothing yet.
   * @throws UnreadableClaimError when it claimed, but its claim cannot be read
   */
  async claimed(jobId: string): Promise<PendingSegment[] | undefined> {
    const jobKey = this.keys.toKey(this.queueName, jobId);
    const [claimed, count, data, backlog] = await this.redis.hmget(jobKey, "claimed", "segments", "data", "backlog");
    if (claimed === null || claimed === undefined) return undefined;
    if (count === null || count === undefined) return segmentsOfEarlierClaim(jobId, data);
    // Its completion ran (see the claim): what it claimed is delivered and released.
    if (Number(count) > 0 && (backlog === null || backlog === undefined)) return [];
    const fields = Array.from({ length: Number(count) }, (_, i) => `segment:${i + 1}`);
    const entries = fields.length === 0 ? [] : await this.redis.hmget(jobKey, ...fields);
    const missing = entries.indexOf(null);
    if (missing >= 0) throw new UnreadableClaimError(jobId, `${fields[missing]} of ${count} is missing`);
    return claimedSegments(jobId, entries as string[]);
  }

  /** Takes `entry` back with its count in the backlog; false when a drain job claimed it already. */
  async withdraw(entry: string, usage: BacklogUsage): Promise<boolean> {
    const keys = [this.key, this.backlogKey, `${this.key}:withdrawn`];
    return (await withdraw.run(this.redis, keys, [entry, usage.profiles, usage.bytes, WITHDRAWN_MEMORY_MS])) === 1;
  }

  /** The segments waiting now whose batches' references are there, oldest first, with their profiles. */
  async list(): Promise<BatchSegment[]> {
    const claimed = await new BatchStore(this.redis, this.prefix).resolve("pending", (await this.redis.lrange(this.key, 0, -1)).map(segmentOf));
    return claimed.filter((segment): segment is BatchSegment => !isLost(segment));
  }

  /** Ends drain job `jobId`'s deduplication if it still holds it: the next flush adds a drain job of its own. */
  async releaseDeduplication(jobId: string): Promise<void> {
    await releaseDeduplication.run(this.redis, [this.deduplicationKey], [jobId]);
  }

  /** How many segments wait. */
  waiting(): Promise<number> {
    return this.redis.llen(this.key);
  }
}

/** The segment of a pending list's entry (`<profiles>:<bytes>:<segment JSON>`). */
function segmentOf(entry: string): PendingSegment {
  return pendingSegment.parse(JSON.parse(entry.slice(entry.indexOf(":", entry.indexOf(":") + 1) + 1)));
}

/**
 * The segments of drain job `jobId`'s claim. One that does not parse makes the whole claim unreadable,
 * so that the job is listed failed for purge rather than retried until its attempts run out and then
 * never listed: its entries left the pending list with the claim.
 */
function claimedSegments(jobId: string, entries: readonly string[]): PendingSegment[] {
  return entries.map((entry, i) => {
    try {
      return segmentOf(entry);
    } catch (error) {
      throw new UnreadableClaimError(jobId, `segment:${i + 1} of ${entries.length} is malformed`, { cause: error });
    }
  });
}

/** The segments a drain job of an earlier version kept in its data. */
function segmentsOfEarlierClaim(jobId: string, data: string | null | undefined): BatchSegment[] {
  const parsed = drainJobData.safeParse(jsonOrUndefined(data));
  if (!parsed.success) throw new UnreadableClaimError(jobId, "a claim of an earlier version that does not parse");
  return parsed.data.segments ?? [];
}

function jsonOrUndefined(text: string | null | undefined): unknown {
  try {
    return text === null || text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
