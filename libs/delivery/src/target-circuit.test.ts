import { test } from "node:test";
import assert from "node:assert/strict";
import { failuresBeforePause, TargetCircuit } from "./target-circuit.js";

test("Retry-After pauses for the time asked, at least the minimum backoff and at most an hour", () => {
  const circuit = new TargetCircuit(500, 60_000);
  assert.equal(circuit.pauseFor({ retryAfterMs: 2_000, unreachable: false }), 2_000);
  assert.equal(circuit.pauseFor({ retryAfterMs: 0, unreachable: false }), 500);
  assert.equal(circuit.pauseFor({ retryAfterMs: 10 * 3600_000, unreachable: false }), 3600_000);
});

test("an unreachable target pauses with growing, capped pauses until a delivery closes the circuit", () => {
  const circuit = new TargetCircuit(100, 1_000);
  const down = () => circuit.pauseFor({ unreachable: true })!;
  const first = down();
  assert.ok(first >= 100 && first < 200, `first pause ${first}`);
  const second = down();
  assert.ok(second >= 200 && second < 400, `second pause ${second}`);
  for (let i = 0; i < 20; i++) down();
  assert.equal(down(), 1_000);
  circuit.delivered();
  assert.ok(down() < 200, "a delivery resets the streak");
});

test("a few error answers or timeouts are plain retries; a streak of them pauses the queue", () => {
  const circuit = new TargetCircuit(100, 1_000);
  assert.equal(circuit.pauseFor({ unreachable: false }), undefined);
  assert.equal(circuit.pauseFor({ unreachable: false }), undefined);
  for (let failure = 3; failure < failuresBeforePause; failure++) {
    assert.equal(circuit.pauseFor({ unreachable: false }), undefined, `failure ${failure} is a plain retry`);
  }
  const pause = circuit.pauseFor({ unreachable: false });
  assert.ok(pause !== undefined && pause >= 100 && pause < 200, `first pause ${pause}`);
  circuit.delivered();
  assert.equal(circuit.pauseFor({ unreachable: false }), undefined, "a delivery resets the streak");
});
