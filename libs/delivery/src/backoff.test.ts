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

  it("caps at the maximum", () => {
    assert.equal(
      backoffDelay(10, 500, 300_000, () => 0.5),
      300_000,
    );
    assert.equal(
      backoffDelay(10, 500, 200_000, () => 0),
      200_000,
    );
    assert.equal(
      backoffDelay(9, 500, 200_000, () => 0.9),
      200_000,
    );
  });

  it("stays finite for huge retry numbers", () => {
    assert.equal(backoffDelay(5_000, 500, 300_000), 300_000);
    assert.equal(backoffDelay(Number.MAX_SAFE_INTEGER, 1, 10), 10);
    assert.equal(backoffDelay(5_000, 0, 300_000), 0);
  });

  it("rejects a retry number below 1 or not whole", () => {
    for (const retry of [0, -1, 1.5, Number.NaN]) assert.throws(() => backoffDelay(retry, 500, 1000), RangeError);
  });

  it("rejects bounds out of order, negative or infinite", () => {
    for (const [min, max] of [
      [2000, 1000],
      [-1, 1000],
      [500, Infinity],
      [Number.NaN, 1000],
    ] as const) {
      assert.throws(() => backoffDelay(1, min, max), RangeError);
    }
  });

  it("always lies within [min·2^(n-1), min·2^n) capped at max", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, minMs, extra, r) => {
          const maxMs = minMs + extra;
          const delay = backoffDelay(retry, minMs, maxMs, () => r);
          const low = minMs === 0 ? 0 : minMs * 2 ** (retry - 1);
          assert.ok(Number.isInteger(delay));
          assert.ok(delay <= maxMs);
          if (low >= maxMs) assert.equal(delay, maxMs);
          else assert.ok(delay >= low && (delay < 2 * low || minMs === 0), `${delay} outside [${low}, ${2 * low})`);
        },
      ),
    );
  });
});
