// A batch's requests to one target, against a fake target: the concurrency shared by batches, the
// hand-off to the next job, a pause of the circuit, a profile the target could never take.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { RelayMetrics } from "@pyroscope-relay/ops";
import type { DeliveryReport, FailureReason, OutgoingProfile } from "@pyroscope-relay/queue";
import { startFakeTarget, targetConfig, type FakeTarget } from "@pyroscope-relay/testing";
import { TargetDelivery } from "./target-delivery.js";

/** What a batch's attempt reported, in order. */
interface Recorded {
  delivered: number[];
  failed: { index: number; failure: FailureReason }[];
  dispatched: number;
}

function recorder(): { report: DeliveryReport; recorded: Recorded } {
  const recorded: Recorded = { delivered: [], failed: [], dispatched: 0 };
  return {
    recorded,
    report: {
      delivered: (index) => recorded.delivered.push(index),
      failed: (index, _parts, failure) => recorded.failed.push({ index, failure }),
      dispatched: () => recorded.dispatched++,
    },
  };
}

/** `/ingest` profiles named `app{n=<first + i>}`; `query` overrides one profile's query. */
function profiles(count: number, first = 0, query?: (i: number) => string | undefined): OutgoingProfile[] {
  return Array.from({ length: count }, (_, i) => ({
    ref: {
      kind: "ingest" as const,
      index: i,
      offset: 0,
      size: 3,
      receivedAt: Date.now(),
      query: query?.(i) ?? `name=app%7Bn%3D${first + i}%7D`,
      contentTypes: [],
    },
    payload: Buffer.from("abc"),
    handledParts: new Set<number>(),
  }));
}

async function fakeTarget(t: TestContext): Promise<FakeTarget> {
  const target = await startFakeTarget();
  t.after(() => target.close());
  return target;
}

function delivery(t: TestContext, target: FakeTarget, concurrency: number): TargetDelivery {
  const delivery = new TargetDelivery({ target: targetConfig("t", { url: target.url }), concurrency, metrics: new RelayMetrics(), env: {} });
  t.after(() => delivery.close());
  return delivery;
}

/** The `n` label of each request the target received. */
function labelsSent(target: FakeTarget): number[] {
  return target.requests.map((request) => Number(/n%3D(\d+)/.exec(request.query)?.[1])).sort((a, b) => a - b);
}

describe("TargetDelivery", () => {
  it("sends each profile of two batches once, within the concurrency they share, and hands off once per batch", async (t) => {
    const target = await fakeTarget(t);
    const send = delivery(t, target, 2);
    target.hold();
    const first = recorder();
    const second = recorder();
    const signal = new AbortController().signal;
    const attempts = Promise.all([send.deliver(profiles(3, 0), first.report, signal), send.deliver(profiles(3, 10), second.report, signal)]);
    await target.waitForRequests(2);
    // Two requests at once, over both batches: the target holds both answers, so no third may start.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(target.requests.length, 2);
    target.release();
    await attempts;
    assert.deepEqual(labelsSent(target), [0, 1, 2, 10, 11, 12]);
    assert.deepEqual(first.recorded.delivered.sort(), [0, 1, 2]);
    assert.deepEqual(second.recorded.delivered.sort(), [0, 1, 2]);
    assert.equal(first.recorded.dispatched, 1);
    assert.equal(second.recorded.dispatched, 1);
  });

  it("takes no more requests of the batch once a Retry-After pauses the target", async (t) => {
    const target = await fakeTarget(t);
    target.failNext(1, 429, { headers: { "retry-after": "30" } });
    const { report, recorded } = recorder();
    const outcome = await delivery(t, target, 1).deliver(profiles(10), report, new AbortController().signal);
    assert.equal(target.requests.length, 1);
    assert.deepEqual(recorded.delivered, []);
    assert.equal(outcome.retry?.status, 429);
    assert.ok((outcome.pauseMs ?? 0) >= 29_000, `paused for ${outcome.pauseMs} ms`);
  });

  it("fails a profile whose name no target would take and delivers the others", async (t) => {
    const target = await fakeTarget(t);
    const { report, recorded } = recorder();
    await delivery(t, target, 2).deliver(
      profiles(3, 0, (i) => (i === 1 ? "name=" : undefined)),
      report,
      new AbortController().signal,
    );
    assert.deepEqual(labelsSent(target), [0, 2]);
    assert.deepEqual(recorded.delivered.sort(), [0, 2]);
    assert.deepEqual(
      recorded.failed.map(({ index, failure }) => [index, failure.reason]),
      [[1, "invalid labels"]],
    );
    assert.equal(recorded.dispatched, 1);
  });

  it("an error of ours in one request stops the batch taking more, and ends it once the requests in flight are reported", async (t) => {
    const target = await fakeTarget(t);
    target.hold();
    const { report, recorded } = recorder();
    let broken: number | undefined;
    let threw = false;
    let ended = false;
    const attempt = delivery(t, target, 2)
      .deliver(
        profiles(6),
        {
          ...report,
          delivered: (index, parts) => {
            if (index !== broken) return report.delivered(index, parts);
            threw = true;
            throw new Error("a bug in reporting");
          },
        },
        new AbortController().signal,
      )
      .finally(() => (ended = true));
    const [first, second] = (await target.waitForRequests(2)).map((request) => Number(/n%3D(\d+)/.exec(request.query)?.[1]));
    broken = first;
    target.releaseOne();
    while (!threw) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(ended, false, "the other request is still in flight");
    target.release();
    await assert.rejects(attempt, /a bug in reporting/);
    assert.deepEqual(recorded.delivered, [second], "the other request in flight was reported before the attempt ended");
    assert.equal(target.requests.length, 2, "no request started after the error");
  });

  it("hands off at once when nothing is left to send", async (t) => {
    const target = await fakeTarget(t);
    const { report, recorded } = recorder();
    await delivery(t, target, 2).deliver([], report, new AbortController().signal);
    assert.equal(recorded.dispatched, 1);
    assert.equal(target.requests.length, 0);
  });
});
