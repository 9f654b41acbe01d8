import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { MachinePauses } from "./machine-pauses.js";

/** Keeps this thread from running anything else for `ms`, as a paused machine keeps every process. */
function standStill(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe("machine pauses", () => {
  it("measures the longest span in which the timer could not run", async () => {
    const pauses = new MachinePauses(10);
    await sleep(30);
    standStill(400);
    await sleep(30);
    standStill(150);
    const longest = pauses.stop();
    // A blocked thread cannot run its timer early: the pause is at least the block less one interval.
    assert.ok(longest >= 390, `longest pause ${longest} ms, not the 400 ms block`);
    assert.ok(longest < 5_000, `longest pause ${longest} ms`);
  });

  it("counts a pause that is still going on when it stops", () => {
    const pauses = new MachinePauses(10);
    standStill(200);
    assert.ok(pauses.stop() >= 190);
  });

  it("counts nothing after it stopped", async () => {
    const pauses = new MachinePauses(10);
    const longest = pauses.stop();
    standStill(200);
    await sleep(30);
    assert.equal(pauses.stop(), longest);
  });
});
