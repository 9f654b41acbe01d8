import { test } from "node:test";
import assert from "node:assert/strict";
import { failuresBeforePause, TargetCircuit } from "./target-circuit.js";

test("Retry-After pauses for the time asked, at least the minimum backoff and at most an hour", () => {
  const circuit = new TargetCircuit(500, 60_000);
  // The target asked: the job uses no attempt.
  assert.deepEqual(circuit.pauseFor({ retryAfterMs: 2_000, unreachable: false }), { pauseMs: 2_000, usesAttempt: false });
  assert.deepEqual(circuit.pauseFor({ retryAfterMs: 0, unreachable: false }), { pauseMs: 500, usesAttempt: false });
  assert.deepEqual(circuit.pauseFor({ retryAfterMs: 10 * 3600_000, unreachable: false }), { pauseMs: 3600_000, usesAttempt: false });
});

test("an unreachable target pauses with growing, capped pauses until a delivery closes the circuit", () => {
  const circuit = new TargetCircuit(100, 1_000);
  const down = () => {
    const pause = circuit.pauseFor({ unreachable: true })!;
    assert.equal(pause.usesAttempt, false, "out of reach: no attempt used");
    return pause.pauseMs;
  };
  const first = down();
  assert.ok(first >= 100 && first < 200, `first pause ${first}`);
  const second = down();
  assert.ok(second >= 200 && second < 400, `second pause ${second}`);
  for (let i = 0; i < 20; i++) down();
  // Capped: the range [800, 1,000) whose top first reached the maximum, jittered still.
  const capped = down();
  assert.ok(capped >= 800 && capped < 1_000, `capped pause ${capped}`);
  circuit.delivered();
  assert.ok(down() < 200, "a delivery resets the streak");
});

test("a few error answers or timeouts are plain retries; a streak of them pauses the queue, and uses the job's attempt", () => {
  const circuit = new TargetCircuit(100, 1_000);
  assert.equal(circuit.pauseFor({ unreachable: false }), undefined);
  assert.equal(circuit.pauseFor({ unreachable: false }), undefined);
  for (let failure = 3; failure < failuresBeforePause; failure++) {
    assert.equal(circuit.pauseFor({ unreachable: false }), undefined, `failure ${failure} is a plain retry`);
  }
  const pause = circuit.pauseFor({ unreachable: false });
  assert.ok(pause !== undefined && pause.pauseMs >= 100 && pause.pauseMs < 200, `first pause ${pause?.pauseMs}`);
  assert.equal(pause.usesAttempt, true, "a target that keeps answering errors must not hold a job past its retries");
  circuit.delivered();
  assert.equal(circuit.pauseFor({ unreachable: false }), undefined, "a delivery resets the streak");
});
