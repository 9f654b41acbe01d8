import type { Redis } from "ioredis";
import { ReplicationError } from "./errors.js";

/** `--redis.min-replicas` and `--redis.replica-timeout`. */
export interface ReplicationBound {
  /** Replicas that must hold a write before it counts as stored. */
  minReplicas: number;
  /** How long to wait for them (Redis WAIT's timeout). */
  timeoutMs: number;
}

/**
 * Waits until `bound.minReplicas` replicas of each of `masters` (connections by address) hold what
 * was written on that connection: Redis WAIT counts the writes of the connection it is sent on, so
 * these are the connections the writes went out on. Throws `ReplicationError` when fewer confirm
 * within the timeout: the write is on the master only, and a failover could lose it.
 */
export async function confirmReplicas(masters: ReadonlyMap<string, Redis>, bound: ReplicationBound): Promise<void> {
  await Promise.all(
    [...masters].map(async ([address, master]) => {
      const confirmed = Number(await master.call("WAIT", bound.minReplicas, bound.timeoutMs));
      if (confirmed < bound.minReplicas) {
        throw new ReplicationError(`${confirmed} of ${bound.minReplicas} replica(s) of ${address} confirmed the write within ${bound.timeoutMs} ms`);
      }
    }),
  );
}
