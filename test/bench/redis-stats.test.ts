import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startRedisServer, type RedisServerHandle } from "@pyroscope-relay/testing";
import { Redis } from "ioredis";
import { firstTouchMicrosPerKiB } from "./first-touch.js";
import { parseVmHwm, peakRss, RedisProbe } from "./redis-stats.js";

describe("Redis' new memory", () => {
  let redis: RedisServerHandle;
  let probe: RedisProbe;
  let client: Redis;

  before(async () => {
    redis = await startRedisServer();
    probe = new RedisProbe([{ name: "redis", path: redis.socketPath }]);
    client = new Redis({ path: redis.socketPath });
  });

  after(async () => {
    client.disconnect();
    probe.close();
    await redis.stop();
  });

  it("reads the peak resident memory of /proc/<pid>/status", () => {
    const status = "Name:\tredis-server\nVmPeak:\t  300000 kB\nVmHWM:\t   12345 kB\nVmRSS:\t   12000 kB\n";
    assert.equal(parseVmHwm(status), 12345 * 1024);
    assert.ok(Number.isNaN(parseVmHwm("Name:\tredis-server\nVmRSS:\t   12000 kB\n")));
    assert.ok(peakRss(process.pid) > 0);
    assert.ok(Number.isNaN(peakRss(2 ** 30)), "no such process");
  });

  it("counts how far Redis' memory grew, and not memory touched again below its peak", async () => {
    const value = Buffer.alloc(2 ** 20, 1);
    const stored = async (round: number) => {
      const start = await probe.snapshot();
      for (let i = 0; i < 32; i++) await client.set(`round:${round}:${i}`, value);
      return probe.delta(start, await probe.snapshot()).newMemoryBytes;
    };
    const first = await stored(1);
    assert.ok(first >= 24 * 2 ** 20, `32 MiB stored, Redis' peak grew ${first} bytes`);
    // FLUSHALL returns the pages to the system; stored again, they are touched anew but below the peak.
    await client.flushall();
    const again = await stored(2);
    assert.ok(again < first / 2, `the same 32 MiB stored again grew the peak by ${again} bytes (first time: ${first})`);
  });

  it("measures what the machine charges for a KiB touched for the first time", () => {
    const micros = firstTouchMicrosPerKiB();
    assert.ok(Number.isFinite(micros) && micros > 0, `${micros} µs per KiB`);
  });
});
