import { isCluster, mastersOf, type RedisConnection } from "./redis-connection.js";

export interface DurabilityExpectations {
  /** `--redis.min-replicas`: every master should have at least this many replicas connected. */
  minReplicas?: number;
}

/**
 * The least AOF growth between two rewrites the relay expects. Its AOF grows by every payload byte
 * while the data set stays small, so with Redis' default (64 MiB) Redis forks a rewrite every few
 * seconds under load, and the fork's copy-on-write and the rewrite cost about as much CPU as storing
 * the profiles (`npm run bench`: 1.3-1.9 times the Redis CPU per profile, 0.6-0.75 times the rate).
 */
const AOF_REWRITE_MIN_BYTES = 1024 ** 3;

/**
 * Warnings about Redis settings, checked on every master. Those that can lose acknowledged profiles:
 * any eviction policy (queued profiles vanish under memory pressure), AOF off (a restart loses
 * everything since the last save), and fewer connected replicas than the flushes wait for (every
 * flush would fail); and one that costs: AOF rewrites more often than every `AOF_REWRITE_MIN_BYTES`.
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
  let rewriteMinSize: number | undefined;
  let rewritePercentage: number | undefined;
  try {
    policy = await configGet(redis, "maxmemory-policy");
    appendonly = await configGet(redis, "appendonly");
    rewriteMinSize = Number(await configGet(redis, "auto-aof-rewrite-min-size"));
    rewritePercentage = Number(await configGet(redis, "auto-aof-rewrite-percentage"));
    if ((expect.minReplicas ?? 0) > 0) replicas = Number(/^connected_slaves:(\d+)/m.exec(await redis.info("replication"))?.[1] ?? 0);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return [
      `could not check Redis durability settings (CONFIG GET failed: ${reason}); make sure maxmemory-policy is noeviction, appendonly is yes and auto-aof-rewrite-min-size is 1gb or more`,
    ];
  }
  const warnings: string[] = [];
  if (policy !== "noeviction") {
    warnings.push(`Redis maxmemory-policy is "${policy}": queued profiles can be evicted; set it to noeviction`);
  }
  if (appendonly !== "yes") {
    warnings.push("Redis appendonly is off: a Redis restart loses queued profiles; set appendonly yes");
  }
  // A percentage of 0 turns automatic rewrites off.
  if (appendonly === "yes" && rewritePercentage! > 0 && rewriteMinSize! < AOF_REWRITE_MIN_BYTES) {
    warnings.push(
      `Redis auto-aof-rewrite-min-size is ${Math.round(rewriteMinSize! / 1024 ** 2)} MiB: the relay's payloads make Redis rewrite its AOF (a fork) every ${Math.round(rewriteMinSize! / 1024 ** 2)} MiB written, which costs about as much CPU as storing them; set it to 1gb or more`,
    );
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
