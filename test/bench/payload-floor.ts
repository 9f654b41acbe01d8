import { Redis } from "ioredis";
import type { RedisPersistence } from "./options.js";
import { startBenchRedis } from "./relay.js";
import { StolenTime } from "./stolen-time.js";

export interface FloorFigures {
  profiles: number;
  profilesPerFlush: number;
  cpuMicrosPerProfile: number;
  /** CPU of Redis' AOF rewrites (forked children) per profile, not in `cpuMicrosPerProfile`. */
  rewriteCpuMicrosPerProfile: number;
  /** How much Redis' peak resident memory grew per profile (NaN if unknown). */
  newMemoryBytesPerProfile: number;
  /** The share of the machine's CPU time its hypervisor took meanwhile (steal; NaN if unknown). */
  stolen: number;
}

/**
 * 6. The least Redis work per profile under the bench's durability, as the baseline of the relay's
 * Redis CPU: each body alone stored with a TTL (a SET PX), in MULTIs of as many profiles as the
 * relay's flushes carried, one MULTI in flight, no queue and no delivery. Whatever the relay does
 * beyond that is its own cost.
 */
export async function payloadFloor(
  body: Buffer,
  profiles: number,
  profilesPerFlush: number,
  persistence: RedisPersistence,
  settle: (profiles: number) => void,
): Promise<FloorFigures> {
  const stage = await startBenchRedis(persistence);
  const client = new Redis({ path: stage.redis.socketPath, enableReadyCheck: false });
  try {
    settle(profiles);
    const before = await stage.probe.snapshot();
    const stolen = new StolenTime();
    for (let stored = 0; stored < profiles; stored += profilesPerFlush) {
      const flush = client.multi();
      for (let i = stored; i < Math.min(profiles, stored + profilesPerFlush); i++) flush.set(`floor:${i}`, body, "PX", 3_600_000);
      await flush.exec();
    }
    const after = await stage.probe.snapshot();
    const delta = stage.probe.delta(before, after);
    return {
      profiles,
      profilesPerFlush,
      cpuMicrosPerProfile: delta.cpuMicros / profiles,
      rewriteCpuMicrosPerProfile: delta.childCpuMicros / profiles,
      newMemoryBytesPerProfile: delta.newMemoryBytes / profiles,
      stolen: stolen.share(),
    };
  } finally {
    client.disconnect();
    await stage.stop();
  }
}
