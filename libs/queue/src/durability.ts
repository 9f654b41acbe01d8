import type { Redis } from "ioredis";

/**
 * Warnings about Redis settings that can lose acknowledged profiles: any eviction policy (queued
 * profiles vanish under memory pressure) and AOF off (a restart loses everything since the last save).
 */
export async function checkRedisDurability(redis: Redis): Promise<string[]> {
  let policy: string | undefined;
  let appendonly: string | undefined;
  try {
    policy = await configGet(redis, "maxmemory-policy");
    appendonly = await configGet(redis, "appendonly");
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return [`could not check Redis durability settings (CONFIG GET failed: ${reason}); make sure maxmemory-policy is noeviction and appendonly is yes`];
  }
  const warnings: string[] = [];
  if (policy !== "noeviction") {
    warnings.push(`Redis maxmemory-policy is "${policy}": queued profiles can be evicted; set it to noeviction`);
  }
  if (appendonly !== "yes") {
    warnings.push("Redis appendonly is off: a Redis restart loses queued profiles; set appendonly yes");
  }
  return warnings;
}

async function configGet(redis: Redis, parameter: string): Promise<string | undefined> {
  const [, value] = (await redis.config("GET", parameter)) as string[];
  return value;
}
