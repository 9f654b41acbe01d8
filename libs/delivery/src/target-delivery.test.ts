// A batch's requests to one target, against a fake target: the concurrency shared by batches, the
// hand-off to the next job, a pause of the circuit, a profile the target could never take; and what
// the circuit's outcome costs a batch behind a writer.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { RelayMetrics } from "@pyroscope-relay/ops";
import { batchJobData, drainJobId, type DeliveryReport, type FailureReason, type OutgoingProfile } from "@pyroscope-relay/queue";
import { freePort, gzippedPprof, startFakeTarget, targetConfig, type FakeTarget } from "@pyroscope-relay/testing";
import { TargetDelivery } from "./target-delivery.js";
import { counter, eventually, failedJob, ingestData, redisForFile } from "./writer-harness.js";

const { relay } = await redisForFile();

/** What a batch's attempt reported, in order. */
interface Recorded {
  delivered: number[];
  failed: { index: number; failure: FailureReason }[];
  retried: { index: number; parts: number[]; failure: FailureReason }[];
  dispatched: number;
}

function recorder(): { report: DeliveryReport; recorded: Recorded } {
  const recorded: Recorded = { delivered: [], failed: [], retried: [], dispatched: 0 };
  return {
    recorded,
    report: {
      delivered: (index) => recorded.delivered.push(index),
      failed: (index, _parts, failure) => recorded.failed.push({ index, failure }),
      retried: (index, parts, failure) => recorded.retried.push({ index, parts: [...parts], failure }),
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

/**
 * Answers `/ingest` requests 500, but redirects those whose query names `unreachable` to a port nobody
 * listens on: their attempt meets a connection refused.
 */
async function halfUnreachable(target: FakeTarget, unreachable: string): Promise<void> {
  const nobody = await freePort();
  target.respond((request) =>
    request.query.includes(unreachable) ? { status: 307, headers: { location: `http://127.0.0.1:${nobody}/ingest` } } : { status: 500, body: "boom" },
  );
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

  it("an attempt the target answered with a retryable error uses an attempt, though another request of it could not reach the target", async (t) => {
    const target = await fakeTarget(t);
    await halfUnreachable(target, "n%3D1");
    const { report, recorded } = recorder();
    // One request at a time: profile 0's 500 first, then profile 1's connection refused.
    const outcome = await delivery(t, target, 1).deliver(profiles(2), report, new AbortController().signal);
    assert.equal(outcome.retry?.reason, "network ECONNREFUSED");
    assert.ok(outcome.pauseMs !== undefined, "the target out of reach opens the circuit");
    assert.equal(outcome.pauseUsesAttempt, true);
    assert.deepEqual(
      recorded.retried.map(({ index, parts, failure }) => [index, parts, failure.reason]),
      [[0, [0], "http 500"]],
      "the answered request counts a try of its profile; the one nobody answered does not",
    );
  });

  it("an attempt whose every failure is the target out of reach uses no attempt", async (t) => {
    const target = await fakeTarget(t);
    await halfUnreachable(target, "n%3D");
    const { report, recorded } = recorder();
    const outcome = await delivery(t, target, 2).deliver(profiles(2), report, new AbortController().signal);
    assert.equal(outcome.retry?.reason, "network ECONNREFUSED");
    assert.ok(outcome.pauseMs !== undefined);
    assert.equal(outcome.pauseUsesAttempt, false);
    assert.deepEqual(recorded.retried, [], "no profile's try");
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

describe("TargetDelivery behind a writer", () => {
  it("a profile the target answers 500 fails after max_backoff_retries tries, though another of its batch cannot reach the target, which waits", async (t) => {
    const target = await startFakeTarget();
    await halfUnreachable(target, "p=1");
    const r = await relay(t, [targetConfig("a", { url: target.url, maxBackoffRetries: 2 })], { fakes: [target], concurrency: 1 });
    // One batch; one request at a time, in order: profile 0's 500, then profile 1's connection refused.
    const [first] = await Promise.all([0, 1].map((i) => r.enqueuer.enqueue(gzippedPprof(), ingestData({ query: `name=app&p=${i}` }), ["a"])));
    const { batchId } = first!;
    // Split off as it fails, mid-life of its drain job, into a job named after the profile (failed
    // once a writer takes it: with one job at a time, after the drain job handed back before it).
    const split = await eventually("profile 0 to be split off", async () => (await r.queue("a").getJob(`${batchId}.0.0`))?.data);
    assert.deepEqual(
      batchJobData.parse(split).profiles.map((ref) => ref.index),
      [0],
    );
    assert.equal(batchJobData.parse(split).failure?.reason, "http 500");
    await sleep(150);
    assert.equal(target.requests.filter((request) => request.query.includes("p=0")).length, 2, "profile 0 sent max_backoff_retries times");
    // Profile 1 never reached the target: it waits for it, using no attempt.
    const drain = (await r.queue("a").getJob(drainJobId(batchId)))!;
    assert.notEqual(await drain.getState(), "failed");
    assert.equal(drain.attemptsMade, 0);
  });

  it("a target that always answers with Retry-After counts each retried profile once in pyroscope_write_retries_total", async (t) => {
    const target = await startFakeTarget();
    target.respond(() => ({ status: 429, headers: { "retry-after": "0" }, body: "slow down" }));
    const r = await relay(t, [targetConfig("a", { url: target.url, maxBackoffRetries: 3 })], { fakes: [target] });
    const { batchId } = await r.enqueuer.enqueue(gzippedPprof(), ingestData(), ["a"]);
    await failedJob(r.queue("a"), batchId);
    assert.equal(target.requests.length, 3);
    assert.equal(await counter(r.metrics.writeRetries, "a"), 2, "retried twice; the last failure is not retried");
  });
});
