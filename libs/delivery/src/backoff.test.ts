import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { backoffDelay } from "./backoff.js";

describe("backoffDelay", () => {
  it("doubles from the minimum: retry n lies in [min·2^(n-1), min·2^n)", () => {
    assert.equal(
      backoffDelay(1, 500, 300_000, () => 0),
      500,
    );
    assert.equal(
      backoffDelay(1, 500, 300_000, () => 0.999999),
      999,
    );
    assert.equal(
      backoffDelay(2, 500, 300_000, () => 0.5),
      1500,
    );
    assert.equal(
      backoffDelay(3, 500, 300_000, () => 0),
      2000,
    );
  });

  it("keeps its jitter at the cap: the last range below the maximum, up to the maximum", () => {
    // 500 ms doubling: [256 s, 512 s) is the first range that reaches 300 s, so it is [256 s, 300 s) from then on.
    assert.equal(
      backoffDelay(10, 500, 300_000, () => 0),
      256_000,
    );
    assert.equal(
      backoffDelay(10, 500, 300_000, () => 0.5),
      278_000,
    );
    assert.equal(
      backoffDelay(50, 500, 300_000, () => 0),
      256_000,
    );
    assert.equal(
      backoffDelay(50, 500, 300_000, () => 0.999999),
      299_999,
    );
    assert.equal(
      backoffDelay(9, 500, 200_000, () => 0.9),
      128_000 + Math.floor(0.9 * 72_000),
    );
  });

  it("waits the minimum every time when it is over the maximum, as dskit's backoff does", () => {
    for (const retry of [1, 2, 10, 5_000]) {
      assert.equal(
        backoffDelay(retry, 2000, 1000, () => 0.5),
        2000,
      );
    }
    assert.equal(
      backoffDelay(3, 500, 0, () => 0.5),
      500,
    );
  });

  it("waits the minimum when it equals the maximum", () => {
    assert.equal(
      backoffDelay(1, 1000, 1000, () => 0.5),
      1000,
    );
    assert.equal(
      backoffDelay(7, 1000, 1000, () => 0.5),
      1000,
    );
  });

  it("stays finite for huge retry numbers", () => {
    const atCap = backoffDelay(5_000, 500, 300_000);
    assert.ok(atCap >= 256_000 && atCap < 300_000, `${atCap}`);
    const small = backoffDelay(Number.MAX_SAFE_INTEGER, 1, 10);
    assert.ok(small >= 8 && small < 10, `${small}`);
    assert.equal(backoffDelay(5_000, 0, 300_000), 0);
    assert.equal(backoffDelay(Number.MAX_SAFE_INTEGER, 0, 300_000), 0, "a minimum of 0 never doubles, however many retries");
  });

  it("rejects a retry number below 1 or not whole", () => {
    for (const retry of [0, -1, 1.5, Number.NaN]) assert.throws(() => backoffDelay(retry, 500, 1000), RangeError);
  });

  it("rejects bounds negative or infinite", () => {
    for (const [min, max] of [
      [-1, 1000],
      [500, -1],
      [500, Infinity],
      [Infinity, 1000],
      [Number.NaN, 1000],
    ] as const) {
      assert.throws(() => backoffDelay(1, min, max), RangeError);
    }
  });

  it("always lies within [min·2^(n-1), min·2^n) below the cap, and within the cap's range at it", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, minMs, extra, r) => {
          const maxMs = minMs + extra;
          const delay = backoffDelay(retry, minMs, maxMs, () => r);
          assert.ok(Number.isInteger(delay));
          assert.ok(delay <= maxMs);
          if (minMs === 0 || minMs === maxMs) return assert.equal(delay, minMs);
          const low = minMs * 2 ** (retry - 1);
          if (2 * low <= maxMs) return assert.ok(delay >= low && delay < 2 * low, `${delay} outside [${low}, ${2 * low})`);
          // At the cap: the range whose top first reached the maximum.
          const capLow = minMs * 2 ** Math.ceil(Math.log2(maxMs / minMs) - 1);
          assert.ok(delay >= capLow && delay < maxMs, `${delay} outside [${capLow}, ${maxMs})`);
        },
      ),
    );
  });
});
