import { QueueKeys } from "bullmq";
import type { Redis } from "ioredis";
import { backlogBytesKey, queueNameFor } from "./keys.js";
import { runScript } from "./run-script.js";

/** What a full target does with a new profile: `drop` it for that target alone, or `reject` the request. */
export type BacklogFullPolicy = "drop" | "reject";

/** Per-target bounds of the backlog; 0 = no bound. */
export interface BacklogBounds {
  maxJobs: number;
  maxBytes: number;
  policy: BacklogFullPolicy;
}

/** A target's backlog as the reservation saw it (before adding the new profile). */
export interface BacklogUsage {
  jobs: number;
  bytes: number;
}

export interface Reservation extends BacklogUsage {
  /** False when the target was at one of its bounds: nothing was counted. */
  admitted: boolean;
}

/** BullMQ states that make up a backlog, in the order the reserve script reads them. */
const BACKLOG_STATES = ["wait", "paused", "active", "delayed", "prioritized"] as const;

// KEYS: bytes counter, then BACKLOG_STATES' keys (lists, then sorted sets). ARGV: payload size,
// maxJobs, maxBytes (0 = no bound). Job counts are read from BullMQ itself (O(1) each), so they never
// drift; the byte counter can leak upward (a writer killed between a job's end and its decrement, a
// job failed by the stalled-job check), so it is reset whenever nothing is queued.
const RESERVE_SCRIPT = `
local jobs = redis.call('LLEN', KEYS[2]) + redis.call('LLEN', KEYS[3]) + redis.call('LLEN', KEYS[4])
  + redis.call('ZCARD', KEYS[5]) + redis.call('ZCARD', KEYS[6])
local bytes = tonumber(redis.call('GET', KEYS[1]) or '0')
if jobs == 0 and bytes ~= 0 then
  redis.call('DEL', KEYS[1])
  bytes = 0
end
local maxJobs, maxBytes = tonumber(ARGV[2]), tonumber(ARGV[3])
if (maxJobs > 0 and jobs >= maxJobs) or (maxBytes > 0 and bytes >= maxBytes) then
  return {0, jobs, bytes}
end
redis.call('INCRBY', KEYS[1], ARGV[1])
return {1, jobs, bytes}
`;

// KEYS: bytes counter. ARGV: bytes. Clamped at 0: a decrement whose increment was lost (or reset)
// must not make room that is not there; an empty counter is deleted rather than kept at 0.
const RELEASE_SCRIPT = `
local left = redis.call('DECRBY', KEYS[1], ARGV[1])
if left <= 0 then redis.call('DEL', KEYS[1]) end
return left
`;

/**
 * A target's backlog bound: its BullMQ job counts plus a Redis counter of the payload bytes its
 * backlog holds. The enqueuer reserves (checks the bounds and counts the bytes, atomically) before it
 * adds the job; the writer releases when a job is delivered or fails for good; replay counts again.
 *
 * Approximate by design, to cost one script call per target and request: requests in flight at the
 * same moment may each pass a bound that only one of them should have (the job is added after the
 * check), the byte bound may be passed by one profile, and the byte counter is only as exact as its
 * increments and decrements (see RESERVE_SCRIPT for how it heals).
 */
export class TargetBacklog {
  private readonly bytesKey: string;
  private readonly stateKeys: string[];

  constructor(
    private readonly redis: Redis,
    prefix: string,
    readonly target: string,
  ) {
    this.bytesKey = backlogBytesKey(prefix, target);
    const keys = new QueueKeys(prefix);
    this.stateKeys = BACKLOG_STATES.map((state) => keys.toKey(queueNameFor(target), state));
  }

  /** Counts `bytes` into the backlog unless the target is at one of `bounds`. */
  async reserve(bytes: number, bounds: Pick<BacklogBounds, "maxJobs" | "maxBytes">): Promise<Reservation> {
    const [admitted, jobs, counted] = (await runScript(
      this.redis,
      RESERVE_SCRIPT,
      [this.bytesKey, ...this.stateKeys],
      [bytes, bounds.maxJobs, bounds.maxBytes],
    )) as [number, number, number];
    return { admitted: admitted === 1, jobs, bytes: counted };
  }

  /** Counts a job back in without checking the bounds (replay: the operator decided). */
  async add(bytes: number): Promise<void> {
    await this.redis.incrby(this.bytesKey, bytes);
  }

  /** A job left the backlog (delivered, failed for good, or never added). */
  async release(bytes: number): Promise<void> {
    await runScript(this.redis, RELEASE_SCRIPT, [this.bytesKey], [bytes]);
  }
}
