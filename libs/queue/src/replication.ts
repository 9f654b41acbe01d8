import type { Cluster, Redis } from "ioredis";
import { masterServing, slotOf } from "./cluster-masters.js";
import { ReplicationError } from "./errors.js";
import { isCluster, type RedisConnection } from "./redis-connection.js";

/** `--redis.min-replicas` and `--redis.replica-timeout`. */
export interface ReplicationBound {
  /** Replicas that must hold a write before it counts as stored. */
  minReplicas: number;
  /** How long to wait for them (Redis WAIT's timeout). */
  timeoutMs: number;
}

/**
 * Waits until `bound.minReplicas` replicas of every master that serves one of `keys` hold what this
 * connection wrote to it (Redis WAIT, on the master's own connection: WAIT counts that connection's
 * writes). Throws `ReplicationError` when fewer confirm within the timeout: the write is on the master
 * only, and a failover could lose it.
 */
export async function confirmReplicas(connection: RedisConnection, keys: readonly string[], bound: ReplicationBound): Promise<void> {
  const masters = isCluster(connection) ? mastersServing(connection, keys) : new Map([["redis", connection]]);
  await Promise.all(
    [...masters].map(async ([address, master]) => {
      const confirmed = Number(await master.call("WAIT", bound.minReplicas, bound.timeoutMs));
      if (confirmed < bound.minReplicas) {
        throw new ReplicationError(`${confirmed} of ${bound.minReplicas} replica(s) of ${address} confirmed the write within ${bound.timeoutMs} ms`);
      }
    }),
  );
}

/** The connections of the masters that serve `keys`' slots, by address, as the cluster client maps them now. */
function mastersServing(cluster: Cluster, keys: readonly string[]): Map<string, Redis> {
  const serving = new Map<string, Redis>();
  for (const key of keys) {
    const master = masterServing(cluster, slotOf(key));
    if (master === undefined) throw new ReplicationError(`no known master serves the slot of ${key}`);
    serving.set(master.address, master.connection);
  }
  return serving;
}
