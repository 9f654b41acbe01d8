import { after, before } from "node:test";
import { startFakeTarget, startRedisServer } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisServerHandle } from "@pyroscope-relay/testing";
import type { RelayProcess } from "../../e2e/support/relay-process.js";

/**
 * What most fault tests stand on: a redis-server with AOF fsynced before every reply (so an
 * acknowledged profile must survive any kill), two fake targets, and the relay processes the test
 * starts. Registered with the enclosing suite's hooks; everything is torn down after it.
 */
export interface FaultStage {
  redis: RedisServerHandle;
  a: FakeTarget;
  b: FakeTarget;
  /** Relay processes to stop after the suite. */
  processes: RelayProcess[];
}

export function faultStage(): FaultStage {
  const stage = { processes: [] as RelayProcess[] } as FaultStage;
  before(async () => {
    stage.redis = await startRedisServer({ appendonly: true, appendfsync: "always" });
    stage.a = await startFakeTarget();
    stage.b = await startFakeTarget();
  });
  after(async () => {
    // Held answers first, or stopping a writer would wait for them.
    stage.a?.release();
    for (const p of stage.processes) await p.stop();
    await stage.a?.close();
    await stage.b?.close();
    await stage.redis?.stop();
  });
  return stage;
}
