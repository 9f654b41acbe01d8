import { test } from "node:test";
import assert from "node:assert/strict";
import { failuresBeforePause, TargetCircuit, type FailedRequest } from "./target-circuit.js";

/** Requests one after the other, each sent after the last one failed, 10 ms apart. */
function inTurn(): () => FailedRequest {
  let now = 0;
  return () => {
    now += 10;
    return { sentAt: now, failedAt: now + 5 };
  };
}

test("Retry-After pauses for the time asked, at least the minimum backoff and at most an hour; the job that met it uses an attempt", () => {
  const circuit = new TargetCircuit(500, 60_000);
  const next = inTurn();
  // The target answered the job's request, as a 429 without Retry-After would: no profile gets more
  // attempts than max_backoff_retries, however often the target asks for a pause.
  assert.deepEqual(circuit.pauseFor({ retryAfterMs: 2_000, unreachable: false }, next()), { pauseMs: 2_000, usesAttempt: true });
  assert.deepEqual(circuit.pauseFor({ retryAfterMs: 0, unreachable: false }, next()), { pauseMs: 500, usesAttempt: true });
  assert.deepEqual(circuit.pauseFor({ retryAfterMs: 10 * 3600_000, unreachable: false }, next()), { pauseMs: 3600_000, usesAttempt: true });
});

test("an unreachable target pauses with growing, capped pauses until a delivery closes the circuit", () => {
  const circuit = new TargetCircuit(100, 1_000);
  let now = 0;
  // Each request sent once the pause before it is over.
  const down = () => {
    const pause = circuit.pauseFor({ unreachable: true }, { sentAt: now, failedAt: now + 5 })!;
    assert.equal(pause.usesAttempt, false, "out of reach: no attempt used");
    now += 5 + pause.pauseMs;
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
  const next = inTurn();
  assert.equal(circuit.pauseFor({ unreachable: false }, next()), undefined);
  assert.equal(circuit.pauseFor({ unreachable: false }, next()), undefined);
  for (let failure = 3; failure < failuresBeforePause; failure++) {
    assert.equal(circuit.pauseFor({ unreachable: false }, next()), undefined, `failure ${failure} is a plain retry`);
  }
  const pause = circuit.pauseFor({ unreachable: false }, next());
  assert.ok(pause !== undefined && pause.pauseMs >= 100 && pause.pauseMs < 200, `first pause ${pause?.pauseMs}`);
  assert.equal(pause.usesAttempt, true, "a target that keeps answering errors must not hold a job past its retries");
  circuit.delivered();
  assert.equal(circuit.pauseFor({ unreachable: false }, next()), undefined, "a delivery resets the streak");
});

test("requests in flight together count as one failure: sixteen connections reset at once pause as one", () => {
  const circuit = new TargetCircuit(500, 300_000);
  // Sent at 0-15 ms, all failed at 20-35 ms: the target went away under them.
  const together = Array.from({ length: 16 }, (_, i) => ({ sentAt: i, failedAt: 20 + i }));
  const pauses = together.map((request) => circuit.pauseFor({ unreachable: true }, request)!.pauseMs);
  assert.ok(
    pauses.every((pauseMs) => pauseMs >= 500 && pauseMs < 1_000),
    `the first pause's range for each, not the sixteenth's: ${pauses.join(", ")}`,
  );
  const errors = new TargetCircuit(500, 300_000);
  for (const request of together) assert.equal(errors.pauseFor({ unreachable: false }, request), undefined, "one error answer, a plain retry");
  // The next round, sent once the pause is over: the streak's second.
  assert.ok(circuit.pauseFor({ unreachable: true }, { sentAt: 2_000, failedAt: 2_001 })!.pauseMs >= 1_000);
});

test("failures of requests sent before the pause under way ends do not lengthen it; the first request after it does", () => {
  const circuit = new TargetCircuit(100, 300_000);
  const next = inTurn();
  let pause: ReturnType<TargetCircuit["pauseFor"]>;
  for (let failure = 1; failure <= failuresBeforePause; failure++) pause = circuit.pauseFor({ unreachable: false }, next());
  const first = pause!;
  assert.ok(first.pauseMs >= 100 && first.pauseMs < 200, `first pause ${first.pauseMs}`);
  const pausedUntil = failuresBeforePause * 10 + 5 + first.pauseMs;
  // The jobs already running when the queue paused go on sending, each request after the one before
  // failed, as a target that fails fast answers them: twelve more, all within the first pause.
  const late = Array.from({ length: 12 }, (_, i) => circuit.pauseFor({ unreachable: false }, { sentAt: 60 + i * 2, failedAt: 61 + i * 2 })!.pauseMs);
  assert.ok(
    late.every((pauseMs) => pauseMs >= 100 && pauseMs < 200),
    `the first pause's range for each, not doubled twelve times: ${late.join(", ")}`,
  );
  const lastLateEnds = Math.max(...late.map((pauseMs, i) => 61 + i * 2 + pauseMs));
  // Tried again once the pause is over: the streak's second pause.
  const after = circuit.pauseFor({ unreachable: false }, { sentAt: Math.max(pausedUntil, lastLateEnds), failedAt: Math.max(pausedUntil, lastLateEnds) + 1 })!;
  assert.ok(after.pauseMs >= 200 && after.pauseMs < 400, `second pause ${after.pauseMs}`);
  // Unreachable, the same: requests under way when it paused do not lengthen the pause.
  const unreachable = new TargetCircuit(100, 300_000);
  const pauses = Array.from({ length: 8 }, (_, i) => unreachable.pauseFor({ unreachable: true }, { sentAt: i * 3, failedAt: i * 3 + 1 })!.pauseMs);
  assert.ok(
    pauses.every((pauseMs) => pauseMs >= 100 && pauseMs < 200),
    `each in the first pause's range: ${pauses.join(", ")}`,
  );
});
