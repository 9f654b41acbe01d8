import { createRedisConnection, Enqueuer, waitForRedis } from "@pyroscope-relay/queue";
import { targetConfig } from "@pyroscope-relay/testing";
import type { RedisPersistence } from "./options.js";
import { startBenchRedis } from "./relay.js";

export interface FlushesAloneFigures {
  profiles: number;
  profilesPerFlush: number;
  commandsPerProfile: number;
  cpuMicrosPerProfile: number;
}

/** What wrk's requests carry besides the body (ingest.lua). */
const facts = {
  kind: "ingest" as const,
  receivedAt: Date.now(),
  tenant: "",
  query: "name=bench%7Bid%3Dalone-1-1%7D&format=pprof&from=1700000000&until=1700000010",
  contentTypes: ["application/octet-stream"],
};

/**
 * 6. The relay's own writes, measured as the payload floor is: ingest's flushes (the library that
 * ingest runs, without HTTP or any other process on the cores) of as many profiles as phase 2's,
 * one in flight, to the bench's targets, on a fresh Redis of the same settings. Against the floor,
 * what a flush writes beyond the bodies costs Redis; what phases 2 and 4 cost beyond this is the
 * writer's share and the contention for the machine's cores, which neither of these two meets.
 */
export async function flushesAlone(
  body: Buffer,
  profiles: number,
  profilesPerFlush: number,
  targets: number,
  persistence: RedisPersistence,
  settle: (profiles: number) => void,
): Promise<FlushesAloneFigures> {
  const stage = await startBenchRedis(persistence);
  const connection = createRedisConnection(stage.redis.url, "producer");
  const jobConnection = createRedisConnection(stage.redis.url, "producer");
  const names = Array.from({ length: targets }, (_, i) => `t${i + 1}`);
  const enqueuer = new Enqueuer({ connection, jobConnection, prefix: "relay", payloadTtlMs: 3_600_000, targets: names.map((name) => targetConfig(name)) });
  try {
    await Promise.all([waitForRedis(connection, 5_000), waitForRedis(jobConnection, 5_000)]);
    // The first flush adds the targets' drain jobs; under load one waits nearly always (phase 2).
    await enqueuer.enqueue(body, facts, names);
    settle(profiles);
    const before = await stage.probe.snapshot();
    for (let stored = 0; stored < profiles; stored += profilesPerFlush) {
      // Submitted in one turn of the event loop, they go out in one flush.
      const count = Math.min(profilesPerFlush, profiles - stored);
      await Promise.all(Array.from({ length: count }, () => enqueuer.enqueue(body, facts, names)));
    }
    const delta = stage.probe.delta(before, await stage.probe.snapshot());
    return { profiles, profilesPerFlush, commandsPerProfile: delta.calls / profiles, cpuMicrosPerProfile: delta.cpuMicros / profiles };
  } finally {
    await enqueuer.close();
    connection.disconnect();
    jobConnection.disconnect();
    await stage.stop();
  }
}
