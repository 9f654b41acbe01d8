import assert from "node:assert/strict";
import { test } from "node:test";
import { perSecond } from "./rates.js";

test("a rate is the counter's increase over the time between two samples", () => {
  assert.equal(perSecond({ time: 1_000, value: 10 }, { time: 3_000, value: 30 }), 10);
  assert.equal(perSecond({ time: 1_000, value: 10 }, { time: 5_000, value: 10 }), 0);
  assert.equal(perSecond({ time: 0, value: 0 }, { time: 500, value: 1 }), 2);
});

test("no rate from one sample, a counter that went down, or a clock that did not move", () => {
  assert.equal(perSecond(undefined, { time: 1_000, value: 10 }), undefined);
  assert.equal(perSecond({ time: 1_000, value: 10 }, { time: 2_000, value: 3 }), undefined);
  assert.equal(perSecond({ time: 1_000, value: 10 }, { time: 1_000, value: 12 }), undefined);
});
