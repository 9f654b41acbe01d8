import { QueueKeys } from "bullmq";
import { LuaScript } from "./lua-script.js";
import type { RedisConnection } from "./redis-connection.js";

/**
 * The limiter's `max` jobs per second. BullMQ honours a pause only when a limiter is set; this one is
 * far above any real rate, so it never throttles by itself, and a limiter key holding at least this
 * much is a pause (see target-state.ts).
 */
export const LIMITER_MAX = 2 ** 31;

// KEYS: a queue's limiter key. ARGV: the pause in ms, LIMITER_MAX. BullMQ's rateLimit() sets the
// pause whatever holds; writers in several processes pause one target, and a short pause of one (a
// reset connection) must not end the longer one another set (the target's Retry-After).
const pause = new LuaScript(
  "target_pause",
  `
local held = tonumber(redis.call('GET', KEYS[1]) or 0) or 0
if held >= tonumber(ARGV[2]) and redis.call('PTTL', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1])
return 1
`,
);

/** Pauses the BullMQ queue `queue` for `pauseMs`, unless a longer pause holds already. */
export async function pauseQueue(connection: RedisConnection, prefix: string, queue: string, pauseMs: number): Promise<void> {
  pause.define(connection);
  await pause.run(connection, [new QueueKeys(prefix).toKey(queue, "limiter")], [Math.max(1, Math.round(pauseMs)), LIMITER_MAX]);
}
