import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseMachineTicks, stolenShare } from "./stolen-time.js";

describe("stolen time", () => {
  it("reads the steal column of /proc/stat's cpu line, guest time left out of the total", () => {
    const stat = "cpu  100 20 30 800 10 0 5 35 7 0\ncpu0 50 10 15 400 5 0 2 18 3 0\nintr 1\n";
    assert.deepEqual(parseMachineTicks(stat), { total: 1000, steal: 35 });
  });

  it("refuses what is not that line", () => {
    assert.equal(parseMachineTicks("cpu0 1 2 3 4 5 6 7 8\n"), undefined);
    assert.equal(parseMachineTicks("cpu  1 2 3 4 5 6 7\n"), undefined);
    assert.equal(parseMachineTicks("cpu  1 2 3 four 5 6 7 8\n"), undefined);
  });

  it("gives the share of the time between two readings that was stolen", () => {
    assert.equal(stolenShare({ total: 1000, steal: 35 }, { total: 1400, steal: 135 }), 0.25);
    assert.ok(Number.isNaN(stolenShare(undefined, { total: 1400, steal: 135 })));
    assert.ok(Number.isNaN(stolenShare({ total: 1000, steal: 35 }, { total: 1000, steal: 35 })));
  });
});
