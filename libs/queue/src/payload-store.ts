import type { Redis } from "ioredis";
import { createHash } from "node:crypto";
import { payloadKey, pendingKey } from "./keys.js";

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
const RELEASE_SHA = createHash("sha1").update(RELEASE_SCRIPT).digest("hex");

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

  /** Drops `target`'s claim; the last claim deletes the payload. Idempotent: a job may complete twice. */
  async release(payloadId: string, target: string): Promise<ReleaseResult> {
    const keys = [payloadKey(this.prefix, payloadId), pendingKey(this.prefix, payloadId)] as const;
    try {
      return (await this.redis.evalsha(RELEASE_SHA, 2, ...keys, target)) as ReleaseResult;
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error;
      return (await this.redis.eval(RELEASE_SCRIPT, 2, ...keys, target)) as ReleaseResult;
    }
  }

  /** Sets a new TTL on both keys (replay); false when the payload no longer exists. */
  async refresh(payloadId: string, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    const results = await this.redis
      .multi()
      .pexpire(payloadKey(this.prefix, payloadId), ttlMs)
      .pexpire(pendingKey(this.prefix, payloadId), ttlMs)
      .exec();
    throwFirstError(results);
    return results?.[0]?.[1] === 1;
  }

  /** The targets that still owe a delivery, sorted. */
  async pending(payloadId: string): Promise<string[]> {
    return (await this.redis.smembers(pendingKey(this.prefix, payloadId))).sort();
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
