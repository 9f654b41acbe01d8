import type { Redis } from "ioredis";
import { payloadKey, pendingKey } from "./keys.js";
import { runScript } from "./run-script.js";

export type ReleaseResult =
  /** The target's claim was removed; other targets still owe a delivery. */
  | "released"
  /** The target held the last claim: payload and pending set are gone. */
  | "deleted"
  /** The target held no claim (already released, or the payload expired). */
  | "absent";

// KEYS: payload, pending set. ARGV: target. An empty set does not exist in Redis, so EXISTS on the set
// tells whether anybody still owes a delivery; a payload left without claims is deleted either way.
const RELEASE_SCRIPT = `
local removed = redis.call('SREM', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  if removed == 1 then return 'released' end
  return 'absent'
end
redis.call('DEL', KEYS[1])
if removed == 1 then return 'deleted' end
return 'absent'
`;

// KEYS: payload, pending set. ARGV: target, TTL (ms). Replay owes the target a delivery again, so the
// claim comes back, and the payload gets a full TTL for the new attempts; both or neither.
const RECLAIM_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`;

// KEYS: payload, pending set. ARGV: TTL (ms). A key without TTL (-1) or missing (-2) is left alone.
const REFRESH_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for _, key in ipairs(KEYS) do
  local ttl = redis.call('PTTL', key)
  if ttl >= 0 and ttl < tonumber(ARGV[1]) then redis.call('PEXPIRE', key, ARGV[1]) end
end
return 1
`;

/**
 * Profile bytes stored once, as binary, whatever the number of targets, with the set of target names
 * that still owe a delivery. Both keys carry a TTL as a safety net against leaks.
 */
export class PayloadStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Stores the bytes and the pending targets atomically (one MULTI). */
  async put(payloadId: string, bytes: Uint8Array, targets: readonly string[], ttlMs: number): Promise<void> {
    if (targets.length === 0) throw new RangeError("a payload needs at least one pending target");
    checkTtl(ttlMs);
    const payload = payloadKey(this.prefix, payloadId);
    const pending = pendingKey(this.prefix, payloadId);
    const results = await this.redis
      .multi()
      .set(payload, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), "PX", ttlMs)
      .sadd(pending, ...targets)
      .pexpire(pending, ttlMs)
      .exec()
      .catch(unwrapExecAbort);
    throwFirstError(results);
  }

  get(payloadId: string): Promise<Buffer | null> {
    return this.redis.getBuffer(payloadKey(this.prefix, payloadId));
  }

  async exists(payloadId: string): Promise<boolean> {
    return (await this.redis.exists(payloadKey(this.prefix, payloadId))) === 1;
  }

  /** Drops `target`'s claim; the last claim deletes the payload. Idempotent: a job may complete twice. */
  async release(payloadId: string, target: string): Promise<ReleaseResult> {
    return (await this.script(RELEASE_SCRIPT, payloadId, target)) as ReleaseResult;
  }

  /**
   * Makes `target` owe a delivery again and gives the payload a fresh TTL, atomically (replay of a
   * failed job); false when the payload is gone, and then nothing changes.
   */
  async reclaim(payloadId: string, target: string, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    return (await this.script(RECLAIM_SCRIPT, payloadId, target, ttlMs)) === 1;
  }

  /**
   * Lengthens the TTL of both keys to at least `ttlMs` (a job that failed for good is kept for
   * replay); never shortens it, since other targets may still owe the payload for longer. False when
   * the payload no longer exists.
   */
  async refresh(payloadId: string, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    return (await this.script(REFRESH_SCRIPT, payloadId, ttlMs)) === 1;
  }

  /** The targets that still owe a delivery, sorted. */
  async pending(payloadId: string): Promise<string[]> {
    return (await this.redis.smembers(pendingKey(this.prefix, payloadId))).sort();
  }

  /** Runs a script on the payload's two keys (one hash tag, so one Cluster slot). */
  private script(source: string, payloadId: string, ...args: (string | number)[]): Promise<unknown> {
    return runScript(this.redis, source, [payloadKey(this.prefix, payloadId), pendingKey(this.prefix, payloadId)], args);
  }
}

export function checkTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`payload TTL must be a positive integer (ms), got ${ttlMs}`);
}

/** Redis refused a command while queueing (e.g. OOM): EXECABORT hides why, ioredis keeps it aside. */
function unwrapExecAbort(error: unknown): never {
  const previous = (error as { previousErrors?: unknown[] }).previousErrors?.[0];
  throw previous ?? error;
}

/**
 * EXEC reports a failed command inside the transaction as a result, not as a rejection. (A null result
 * only follows a failed WATCH, never used here.)
 */
function throwFirstError(results: [Error | null, unknown][] | null): void {
  for (const [error] of results ?? []) if (error) throw error;
}
