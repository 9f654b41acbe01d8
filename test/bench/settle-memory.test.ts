import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bytesPerProfile, chunkSizes, parseMemAvailable, settledSize, settleMemory, unpacedProfiles } from "./settle-memory.js";

describe("settling memory before a load", () => {
  it("reads MemAvailable of /proc/meminfo", () => {
    const meminfo = "MemTotal:       24576000 kB\nMemFree:        20000000 kB\nMemAvailable:   22000000 kB\nBuffers:            1000 kB\n";
    assert.equal(parseMemAvailable(meminfo), 22_000_000 * 1024);
    assert.equal(parseMemAvailable("MemTotal:       24576000 kB\n"), 0);
  });

  it("touches what a load may grow into, never more than 60% of what is available", () => {
    assert.equal(settledSize(1_000, 10_000), 1_000);
    assert.equal(settledSize(9_000, 10_000), 6_000);
    assert.equal(settledSize(1_000, 0), 0);
    assert.equal(settledSize(-5, 10_000), 0);
  });

  it("touches exactly the size settled on, in allocations of at most 256 MiB", () => {
    const MiB = 2 ** 20;
    assert.deepEqual(chunkSizes(700 * MiB), [256 * MiB, 256 * MiB, 188 * MiB]);
    assert.deepEqual(chunkSizes(512 * MiB), [256 * MiB, 256 * MiB]);
    assert.deepEqual(chunkSizes(5), [5]);
    assert.deepEqual(chunkSizes(0), []);
  });

  it("sizes a profile as its body twice (Redis' copy and the AOF's page cache) and an unpaced load at 16,000 per second", () => {
    assert.equal(bytesPerProfile(10_240), 22_528);
    assert.equal(unpacedProfiles(10), 160_000);
  });

  it("touches the memory in a child process that exits", { skip: process.platform !== "linux" && "reads /proc/meminfo" }, () => {
    const settled = settleMemory(32 * 2 ** 20);
    assert.equal(settled.bytes, 32 * 2 ** 20);
    assert.ok(settled.ms >= 0);
  });
});
