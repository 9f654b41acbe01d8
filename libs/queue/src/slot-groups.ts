import { slotOf } from "./cluster-masters.js";
import { isCluster, type RedisConnection } from "./redis-connection.js";

/** An item of a group, with its position in the list it came from. */
export interface Placed<T> {
  item: T;
  position: number;
}

/**
 * `items` in groups that one script may touch together: on one Redis a single group of them all, on
 * a Cluster a group per hash slot of `keyOf(item)`. In each group the items keep their order.
 */
export function groupBySlot<T>(connection: RedisConnection, items: readonly T[], keyOf: (item: T) => string): Placed<T>[][] {
  const placed = items.map((item, position) => ({ item, position }));
  if (!isCluster(connection)) return placed.length === 0 ? [] : [placed];
  const groups = new Map<number, Placed<T>[]>();
  for (const one of placed) {
    const slot = slotOf(keyOf(one.item));
    const group = groups.get(slot);
    if (group === undefined) groups.set(slot, [one]);
    else group.push(one);
  }
  return [...groups.values()];
}
