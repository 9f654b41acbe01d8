import { randomUUID } from "node:crypto";
import { slotOf } from "./cluster-masters.js";
import { batchRefsKey, shardOf } from "./keys.js";
import { isCluster, type RedisConnection } from "./redis-connection.js";
import type { MasterShortOfReplicas, RedisGuard } from "./redis-guard.js";

/** A target as placement sees it: its queue shards, whose pending lists' keys say where their segments go. */
export interface PlacedTarget {
  name: string;
  shards: readonly { pending: { key: string } }[];
}

/** Where one flush writes. */
export interface Placement {
  /** The batch's id, which picks the hash slot of its chunks and references. */
  batchId: string;
  /** Each target's queue shard for the batch, by index in the targets given. */
  shards: number[];
  /** Masters short of replicas the flush would write to all the same: it is refused (none when it avoids them). */
  short: MasterShortOfReplicas[];
}

/**
 * Batch ids tried for one whose slot is on a master with its replicas, while some master is short:
 * with one master of three short, all 64 miss one time in 10^11.
 */
const BATCH_ID_TRIES = 64;

/**
 * Where a flush writes: a new batch id, and for each target the queue shard the id picks (keys.ts
 * `shardOf`: batches spread evenly over the shards). With --redis.min-replicas, while the Redis guard
 * finds a master of a Cluster short of replicas, a flush writes around it: the batch id is drawn again
 * until the batch's slot is on another master, and a target whose shard is on the short master takes
 * its next shard that is not (any shard serves: writers consume them all). A key whose slot the client
 * does not know yet is taken as fine: the flush's WAIT still checks its replicas.
 */
export class BatchPlacement {
  constructor(
    private readonly connection: RedisConnection,
    private readonly prefix: string,
    /** Only with --redis.min-replicas. */
    private readonly guard: RedisGuard | undefined,
  ) {}

  /**
   * Refuses a profile for `targets` that a flush could not store without writing to a master short of
   * replicas (on one Redis, that Redis; on a Cluster, a target whose every queue shard is on such
   * masters), before it joins a flush: the other profiles of the flush are stored all the same.
   * @throws ReplicasMissingError naming the targets, with nothing stored
   */
  refuseUnplaceable(targets: readonly PlacedTarget[]): void {
    const guard = this.guard;
    const short = guard?.shortOfReplicas ?? [];
    if (guard === undefined || short.length === 0) return;
    if (!isCluster(this.connection)) {
      guard.refuseShort(short);
      return;
    }
    const stranded = targets.filter((target) => !target.shards.some((shard) => this.isFine(shard.pending.key, short)));
    if (stranded.length === 0) return;
    const names = stranded.map((target) => target.name).join(", ");
    guard.refuseShort(short, `every queue shard of target ${names} is on a master short of them`);
  }

  place(targets: readonly PlacedTarget[]): Placement {
    const short = [...(this.guard?.shortOfReplicas ?? [])];
    if (short.length === 0 || !isCluster(this.connection)) {
      const batchId = randomUUID();
      return { batchId, shards: targets.map((target) => shardOf(batchId, target.shards.length)), short };
    }
    let batchId = randomUUID();
    for (let tried = 1; tried < BATCH_ID_TRIES && !this.isFine(batchRefsKey(this.prefix, batchId), short); tried++) batchId = randomUUID();
    const shards = targets.map((target) => {
      const first = shardOf(batchId, target.shards.length);
      const count = target.shards.length;
      for (let step = 0; step < count; step++) {
        const shard = (first + step) % count;
        if (this.isFine(target.shards[shard]!.pending.key, short)) return shard;
      }
      return first;
    });
    const keys = [batchRefsKey(this.prefix, batchId), ...targets.map((target, i) => target.shards[shards[i]!]!.pending.key)];
    return { batchId, shards, short: this.guard!.shortAmong(keys.flatMap((key) => this.masterOf(key) ?? [])) };
  }

  /** Whether `key`'s slot is on a master that is not short (or on one the client does not know yet). */
  private isFine(key: string, short: readonly MasterShortOfReplicas[]): boolean {
    const master = this.masterOf(key);
    return master === undefined || !short.some((candidate) => candidate.address === master);
  }

  /** The address of the master that serves `key`'s slot, as the cluster client maps the slots now. */
  private masterOf(key: string): string | undefined {
    return isCluster(this.connection) ? this.connection.slots[slotOf(key)]?.[0] : undefined;
  }
}
