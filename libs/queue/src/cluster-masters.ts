import calculateSlot from "cluster-key-slot";
import type { Cluster, Redis } from "ioredis";

/** A cluster's master as the cluster client maps the slots now: its address and the client's connection to it. */
export interface ServingMaster {
  address: string;
  connection: Redis;
}

/** The hash slot of `key`, as Redis Cluster computes it (hash tags included). */
export const slotOf: (key: string | Buffer) => number = calculateSlot;

/** The master that serves `slot`, if the client knows both the slot's master and a connection to it. */
export function masterServing(cluster: Cluster, slot: number): ServingMaster | undefined {
  const address = cluster.slots[slot]?.[0];
  return address === undefined ? undefined : masterAt(cluster, address);
}

/** The master at `address` (`host:port`), if the client has a connection to it. */
export function masterAt(cluster: Cluster, address: string): ServingMaster | undefined {
  const connection = cluster.nodes("master").find((node) => `${node.options.host}:${node.options.port}` === address);
  return connection === undefined ? undefined : { address, connection };
}

/** Asks the cluster which master serves which slot now; resolves once the client's map is renewed. */
export function refreshSlots(cluster: Cluster): Promise<void> {
  return new Promise((resolve, reject) => cluster.refreshSlotsCache((error) => (error ? reject(error) : resolve())));
}
