import { targetsKey } from "./keys.js";
import type { RedisConnection } from "./redis-connection.js";

/**
 * The targets that ever had a queue under a prefix, in one set: a target removed from the
 * configuration keeps its queue (and failed batches) in Redis, and operators find it here, without
 * listing keys (which a cluster spreads over its masters).
 */
export async function recordTargets(connection: RedisConnection, prefix: string, targets: readonly string[]): Promise<void> {
  if (targets.length > 0) await connection.sadd(targetsKey(prefix), ...targets);
}

/** Every target recorded under `prefix`, sorted. */
export async function recordedTargets(connection: RedisConnection, prefix: string): Promise<string[]> {
  return (await connection.smembers(targetsKey(prefix))).sort();
}
