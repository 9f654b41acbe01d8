import { isCluster, mastersOf, type RedisConnection } from "./redis-connection.js";

export interface DurabilityExpectations {
  /** `--redis.min-replicas`: every master should have at least this many replicas connected. */
  minReplicas?: number;
}

/**
 * Warnings about Redis settings that can lose acknowledged profiles, checked on every master: any
 * eviction policy (queued profiles vanish under memory pressure), AOF off (a restart loses everything
 * since the last save), and fewer connected replicas than the flushes wait for (every flush would fail).
 */
export async function checkRedisDurability(connection: RedisConnection, expect: DurabilityExpectations = {}): Promise<string[]> {
  const masters = mastersOf(connection);
  const named = isCluster(connection);
  const warnings = await Promise.all(
    masters.map(async (master) => {
      const where = named ? ` (master ${master.options.host}:${master.options.port})` : "";
      return (await checkMaster(master, expect)).map((warning) => `${warning}${where}`);
    }),
  );
  return warnings.flat();
}

async function checkMaster(redis: RedisConnection, expect: DurabilityExpectations): Promise<string[]> {
  let policy: string | undefined;
  let appendonly: string | undefined;
  let replicas: number | undefined;
  try {
    policy = await configGet(redis, "maxmemory-policy");
    appendonly = await configGet(redis, "appendonly");
    if ((expect.minReplicas ?? 0) > 0) replicas = Number(/^connected_slaves:(\d+)/m.exec(await redis.info("replication"))?.[1] ?? 0);
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
  if (replicas !== undefined && replicas < (expect.minReplicas ?? 0)) {
    warnings.push(
      `Redis has ${replicas} connected replica(s) but --redis.min-replicas is ${expect.minReplicas}: ingest answers 503 until enough replicas are connected`,
    );
  }
  return warnings;
}

async function configGet(redis: RedisConnection, parameter: string): Promise<string | undefined> {
  const [, value] = (await redis.config("GET", parameter)) as string[];
  return value;
}
