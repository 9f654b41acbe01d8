import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pollUntil, PollTimeoutError } from "@pyroscope-relay/testing";
import type { Attempt, LoadGenerator } from "./load.js";
import type { TargetLedger } from "./ledger.js";

export interface TargetFigures {
  name: string;
  /** Acknowledged IDs the target accepted at least once. */
  delivered: number;
  /** Acknowledged IDs it never accepted: the relay's promise is broken when this is not empty. */
  missing: string[];
  /** Copies beyond the first, over every ID. */
  duplicates: number;
  /** IDs accepted although the client never got a 2xx (stored, then the answer was lost): allowed. */
  unacknowledged: number;
}

export interface DeliveryReport {
  sent: number;
  acknowledged: number;
  statuses: Record<string, number>;
  targets: TargetFigures[];
}

/** Maps what each target accepted back to the IDs the load generator had acknowledged. */
export function deliveryReport(load: LoadGenerator, ledgers: readonly TargetLedger[]): DeliveryReport {
  return {
    sent: load.attempts.length,
    acknowledged: load.acked.size,
    statuses: load.statusCounts(),
    targets: ledgers.map((ledger) => {
      const missing = [...load.acked.keys()].filter((id) => !ledger.accepted.has(id));
      let duplicates = 0;
      let unacknowledged = 0;
      for (const [id, times] of ledger.accepted) {
        // Other generators' profiles (other tags) are theirs to count.
        if (!id.startsWith(`${load.tag}-`)) continue;
        duplicates += times.length - 1;
        if (!load.acked.has(id)) unacknowledged++;
      }
      return { name: ledger.name, delivered: load.acked.size - missing.length, missing, duplicates, unacknowledged };
    }),
  };
}

/**
 * Polls until every acknowledged profile reached every target, or `timeoutMs` passed; returns the
 * last report and how long draining took (the caller asserts, so a timeout shows the figures).
 */
export async function waitForDelivery(
  load: LoadGenerator,
  ledgers: readonly TargetLedger[],
  timeoutMs: number,
): Promise<{ report: DeliveryReport; drainMs: number }> {
  const started = Date.now();
  for (;;) {
    const report = deliveryReport(load, ledgers);
    const done = report.targets.every((t) => t.missing.length === 0);
    if (done || Date.now() - started >= timeoutMs) return { report, drainMs: Date.now() - started };
    await sleep(200);
  }
}

/** Prints the figures and asserts zero acknowledged loss and at most `maxDuplicates` copies per target. */
export function assertDelivered(t: TestContext, outcome: { report: DeliveryReport; drainMs: number }, options: { maxDuplicates: number }): void {
  const { report, drainMs } = outcome;
  t.diagnostic(`sent ${report.sent}, acknowledged ${report.acknowledged}, statuses ${JSON.stringify(report.statuses)}`);
  for (const target of report.targets) {
    t.diagnostic(
      `target ${target.name}: delivered ${target.delivered}/${report.acknowledged}, missing ${target.missing.length}, ` +
        `duplicates ${target.duplicates}, unacknowledged but delivered ${target.unacknowledged}`,
    );
  }
  t.diagnostic(`time to drain (from the end of sending) ${(drainMs / 1000).toFixed(1)} s`);
  assert.ok(report.acknowledged > 0, "the test acknowledged nothing: it proves nothing");
  for (const target of report.targets) {
    assert.deepEqual(target.missing.slice(0, 20), [], `${target.name}: ${target.missing.length} acknowledged profile(s) never delivered`);
    assert.ok(target.duplicates <= options.maxDuplicates, `${target.name}: ${target.duplicates} duplicates, expected at most ${options.maxDuplicates}`);
  }
}

/**
 * Once a fault is over, every request of `settled` (those sent after it) is 200, or 503 with
 * Retry-After: a flush may still miss ingest's deadline now and then (an fsync or a replica's
 * confirmation slow on a busy machine). At most a tenth are refused, and each refused profile is
 * taken when sent again, as a client does. `when` names the moment, e.g. "once Redis is back".
 */
export async function assertRecovered(t: TestContext, load: LoadGenerator, settled: readonly Attempt[], when: string): Promise<void> {
  assert.ok(settled.length > 0, `no request ${when}`);
  const refused = settled.filter((x) => x.status !== 200);
  t.diagnostic(`${when}: ${settled.length} requests, ${refused.length} refused`);
  assert.deepEqual(
    refused.filter((x) => x.status !== 503 || !x.retryAfter),
    [],
    `every request is 200, or 503 with Retry-After, ${when}`,
  );
  assert.ok(refused.length <= settled.length / 10, `${refused.length} of ${settled.length} requests refused ${when}: more than a tenth`);
  assert.deepEqual(await load.resend(refused), [], `every profile refused ${when} is taken when sent again`);
}

/** p-th percentile (0-100) of `values`, nearest rank; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Whether `probe` returns true within `timeoutMs` (see pollUntil): false when it did not, for the
 * caller to assert once it has shown what happened meanwhile.
 */
export async function eventually(probe: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 200): Promise<boolean> {
  try {
    return await pollUntil("the probe", probe, { timeoutMs, everyMs });
  } catch (error) {
    if (error instanceof PollTimeoutError) return false;
    throw error;
  }
}
