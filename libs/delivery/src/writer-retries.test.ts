// Retry behaviour of a target's writer against a real target: which answers are retried, how long
// it waits (lower bounds only: a loaded machine may be slower, never faster), when it gives up.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { detachedProfileKey, drainJobId } from "@pyroscope-relay/queue";
import { gzippedPprof, startFakeTarget, targetConfig, freePort } from "@pyroscope-relay/testing";
import { counter, eventually, failedJob, gaps, ingestData, latencyCount, redisForFile, type Relay } from "./writer-harness.js";

const { relay } = await redisForFile();

/** Timer slack: Node timers and Redis scores are whole milliseconds. */
const slackMs = 5;

test("503 twice then 200: three attempts, waits of at least min·2^(n-1)", async (t) => {
  const target = await startFakeTarget();
  target.failNext(2, 503, { body: "busy" });
  const r = await relay(t, [targetConfig("a", { url: target.url, minBackoffMs: 50, maxBackoffMs: 400 })], { fakes: [target] });
  const { batchId } = await r.enqueuer.enqueue(gzippedPprof(), ingestData(), ["a"]);

  const requests = await target.waitForRequests(3);
  await eventually("the batch to be released", async () => !(await r.batchExists(batchId)));
  const [first, second] = gaps(requests) as [number, number];
  t.diagnostic(`waits: ${first} ms, ${second} ms`);
  assert.ok(first >= 50 - slackMs, `first retry after ${first} ms, expected >= 50`);
  assert.ok(second >= 100 - slackMs, `second retry after ${second} ms, expected >= 100`);
  await sleep(100);
  assert.equal(target.requests.length, 3);
  assert.equal(await r.queue("a").getJob(drainJobId(batchId)), undefined);
  assert.equal(await counter(r.metrics.writeRetries, "a"), 2);
  assert.equal(await counter(r.metrics.writeSentProfiles, "a"), 1);
});

test("Retry-After on a 429 delays the next attempt beyond the backoff", async (t) => {
  const target = await startFakeTarget();
  target.failNext(1, 429, { headers: { "retry-after": "1" }, body: "slow down" });
  const r = await relay(t, [targetConfig("a", { url: target.url })], { fakes: [target] });
  await r.enqueuer.enqueue(gzippedPprof(), ingestData(), ["a"]);

  const requests = await target.waitForRequests(2, 4_000);
  const [wait] = gaps(requests) as [number];
  t.diagnostic(`retried after ${wait} ms`);
  assert.ok(wait >= 1_000 - slackMs, `retried after ${wait} ms, asked for 1 s`);
});

test("retry_on_http_429 = false: a 429 fails at once", async (t) => {
  const target = await startFakeTarget();
  target.failNext(1, 429, { body: "rate limited" });
  const r = await relay(t, [targetConfig("a", { url: target.url, retryOnHttp429: false })], { fakes: [target] });
  const { batchId } = await r.enqueuer.enqueue(gzippedPprof(), ingestData(), ["a"]);

  const job = await failedJob(r.queue("a"), batchId);
  assert.equal(job.attemptsMade, 1);
  assert.match(job.failedReason, /http 429/);
  await sleep(100);
  assert.equal(target.requests.length, 1);
});

test("400: one attempt, the batch kept in failed with the status and body start, its profile kept", async (t) => {
  const target = await startFakeTarget();
  const body = `invalid profile: ${"x".repeat(5_000)}`;
  target.respond(() => ({ status: 400, body }));
  const r = await relay(t, [targetConfig("a", { url: target.url })], { fakes: [target] });
  const profile = gzippedPprof();
  const { batchId } = await r.enqueuer.enqueue(profile, ingestData(), ["a"]);

  const job = await failedJob(r.queue("a"), batchId);
  assert.equal(job.attemptsMade, 1);
  assert.match(job.failedReason, /^http 400: invalid profile: x+$/);
  assert.ok(job.failedReason.length < 2_000, `failedReason of ${job.failedReason.length} chars: the body must be cut short`);
  await sleep(100);
  assert.equal(target.requests.length, 1, "a permanent error is not retried");
  // Kept for replay: a copy of the profile held by the failed job.
  assert.deepEqual(await r.admin.getBuffer(detachedProfileKey(r.prefix, batchId, 0)), profile);
  // Failed but replayable: counted as failed, not as Alloy's dropped (lost for good).
  assert.equal(await counter(r.metrics.failedProfiles, "a", { reason: "http 400" }), 1);
  assert.equal(await counter(r.metrics.failedBytes, "a", { reason: "http 400" }), profile.length);
  assert.equal(await counter(r.metrics.writeDroppedProfiles, "a"), 0);
  assert.equal(await counter(r.metrics.writeRetries, "a"), 0);
  assert.equal(await latencyCount(r.metrics.writeLatency, "a", { type: "ingest_downstream" }), 1, "a refused request is timed too");
});

test("an attempt that outlives remote_timeout is aborted and retried", async (t) => {
  const target = await startFakeTarget();
  target.hold();
  // Long enough that the second attempt, held too, is still under way when the test reads the job.
  const r = await relay(t, [targetConfig("a", { url: target.url, remoteTimeoutMs: 1_000 })], { fakes: [target] });
  const { batchId } = await r.enqueuer.enqueue(gzippedPprof(), ingestData(), ["a"]);

  const requests = await target.waitForRequests(2, 10_000);
  const [wait] = gaps(requests) as [number];
  assert.ok(wait >= 1_000 + 20 - slackMs, `second attempt after ${wait} ms: timeout 1,000 ms + backoff 20 ms`);
  const job = await r.queue("a").getJob(drainJobId(batchId));
  assert.match(job!.failedReason, /timeout/);
  assert.equal(job!.attemptsMade, 1);
  // The second attempt gets its answer.
  target.release();
  await eventually("the batch to be released", async () => !(await r.batchExists(batchId)));
});

test("max_backoff_retries = 3 against an always-503 target: exactly 3 attempts, then failed", async (t) => {
  const target = await startFakeTarget();
  target.respond(() => ({ status: 503, body: "down" }));
  const r = await relay(t, [targetConfig("a", { url: target.url, maxBackoffRetries: 3 })], { fakes: [target] });
  const { batchId } = await r.enqueuer.enqueue(gzippedPprof(), ingestData(), ["a"]);

  const job = await failedJob(r.queue("a"), batchId);
  assert.equal(job.failedReason, "http 503: down");
  await sleep(150);
  assert.equal(target.requests.length, 3);
  assert.equal(await r.admin.exists(detachedProfileKey(r.prefix, batchId, 0)), 1);
  assert.equal(await counter(r.metrics.writeRetries, "a"), 2, "the last failure is not retried");
  assert.equal(await counter(r.metrics.failedProfiles, "a", { reason: "http 503" }), 1);
  assert.equal(await latencyCount(r.metrics.writeLatency, "a", { type: "ingest_downstream" }), 3, "every attempt timed");
});

test("max_backoff_retries = 3 against a target that always answers 429 with Retry-After: 3 attempts, then failed", async (t) => {
  const target = await startFakeTarget();
  target.respond(() => ({ status: 429, headers: { "retry-after": "0" }, body: "slow down" }));
  const r = await relay(t, [targetConfig("a", { url: target.url, maxBackoffRetries: 3 })], { fakes: [target] });
  const { batchId } = await r.enqueuer.enqueue(gzippedPprof(), ingestData(), ["a"]);

  const job = await failedJob(r.queue("a"), batchId);
  assert.equal(job.failedReason, "http 429: slow down");
  await sleep(150);
  assert.equal(target.requests.length, 3, "asking for a pause does not make a target's refusal free");
});

/** The `p` of each request's query, counted: how often the target was sent each profile. */
function sendsByProfile(requests: readonly { query: string }[]): Map<number, number> {
  const sends = new Map<number, number>();
  for (const { query } of requests) {
    const p = Number(/(?:^|&)p=(\d+)(?:&|$)/.exec(query)?.[1]);
    sends.set(p, (sends.get(p) ?? 0) + 1);
  }
  return sends;
}

/** Stores `count` profiles (queries `...&p=<i>`) for target `a` in one flush: one drain job claims them. */
async function flushProfiles(r: Relay, count: number): Promise<string> {
  const results = await Promise.all(
    Array.from({ length: count }, (_, i) => r.enqueuer.enqueue(gzippedPprof(), ingestData({ query: `name=app&p=${i}` }), ["a"])),
  );
  const batches = new Set(results.map(({ batchId }) => batchId));
  assert.equal(batches.size, 1, "one flush");
  return [...batches][0]!;
}

test("a drain job against a target that answers every request 429 with Retry-After: each profile sent max_backoff_retries times, then failed; none unsent", async (t) => {
  const target = await startFakeTarget();
  target.respond(() => ({ status: 429, headers: { "retry-after": "0" }, body: "slow down" }));
  const r = await relay(t, [targetConfig("a", { url: target.url, maxBackoffRetries: 3, minBackoffMs: 5, maxBackoffMs: 20 })], {
    fakes: [target],
    concurrency: 2,
  });
  const batchId = await flushProfiles(r, 40);

  // Each pause stops the attempt after about two requests: 40 profiles take some 60 attempts.
  await eventually("every profile to fail", async () => (await counter(r.metrics.failedProfiles, "a", { reason: "http 429" })) === 40, 30_000);
  await eventually("the drain job to end", async () => (await r.queue("a").getJob(drainJobId(batchId))) === undefined);
  await sleep(100);
  const sends = sendsByProfile(target.requests);
  assert.equal(sends.size, 40, "every profile was sent");
  assert.deepEqual(new Set(sends.values()), new Set([3]), "each exactly max_backoff_retries times");
  assert.equal(target.requests.length, 120);
  assert.equal(await counter(r.metrics.failedProfiles, "a"), 40, "nothing failed otherwise");
});

test("a target that rate-limits a drain job's requests for a while, then takes them all: everything is delivered, nothing fails", async (t) => {
  const target = await startFakeTarget();
  // The first request of every third of the first 30 profiles is refused: ten paused attempts, more
  // than max_backoff_retries, but one try of each of those profiles.
  const refused = new Set<number>();
  target.respond((request) => {
    const p = Number(/(?:^|&)p=(\d+)(?:&|$)/.exec(request.query)?.[1]);
    if (p % 3 !== 2 || p >= 30 || refused.has(p)) return undefined;
    refused.add(p);
    return { status: 429, headers: { "retry-after": "0" }, body: "slow down" };
  });
  const r = await relay(t, [targetConfig("a", { url: target.url, maxBackoffRetries: 3, minBackoffMs: 5, maxBackoffMs: 20 })], {
    fakes: [target],
    concurrency: 2,
  });
  const batchId = await flushProfiles(r, 40);

  await eventually("the batch to be released", async () => !(await r.batchExists(batchId)), 20_000);
  assert.equal(await counter(r.metrics.writeSentProfiles, "a"), 40);
  assert.equal(await counter(r.metrics.failedProfiles, "a"), 0);
  assert.equal(await r.queue("a").getFailedCount(), 0);
  assert.equal(refused.size, 10);
  assert.equal(target.requests.length, 50, "each profile delivered once, ten of them after a 429");
});

test("connection refused pauses the queue without using attempts, until the target is back", async (t) => {
  // A port nobody listens on, then a server on that very port.
  const port = await freePort();
  const r = await relay(t, [targetConfig("a", { url: `http://127.0.0.1:${port}` })]);
  const { batchId } = await r.enqueuer.enqueue(gzippedPprof(), ingestData(), ["a"]);

  await eventually("two refused attempts", async () => {
    const retries = await r.metrics.writeRetries.get();
    return (retries.values[0]?.value ?? 0) >= 2 ? true : undefined;
  });
  const job = (await r.queue("a").getJob(drainJobId(batchId)))!;
  assert.equal(job.attemptsMade, 0, "the circuit breaker pauses instead of burning attempts");
  assert.notEqual(await job.getState(), "failed");

  const received: string[] = [];
  const server = createServer((req, res) => {
    received.push(req.url ?? "");
    req.resume().on("end", () => res.end());
  });
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  await eventually("the batch to be released", async () => !(await r.batchExists(batchId)));
  assert.equal(received.length, 1);
  assert.match(received[0]!, /^\/ingest\?/);
});

test("a profile older than the maximum age fails as expired without an attempt, and is kept", async (t) => {
  const target = await startFakeTarget();
  const r = await relay(t, [targetConfig("a", { url: target.url })], { fakes: [target], writer: { maxAgeMs: 60_000, failedPayloadTtlMs: 3 * 3_600_000 } });
  const { batchId } = await r.enqueuer.enqueue(gzippedPprof(), ingestData({ receivedAt: Date.now() - 61_000 }), ["a"]);

  const job = await failedJob(r.queue("a"), batchId);
  assert.match(job.failedReason, /^expired: /);
  assert.equal(target.requests.length, 0);
  const ttl = await r.admin.pttl(detachedProfileKey(r.prefix, batchId, 0));
  assert.ok(ttl > 2 * 3_600_000, `an expired profile is kept as long as failed jobs are (${ttl} ms)`);
});

test("close() hands back a delivery still active after the shutdown grace", async (t) => {
  const target = await startFakeTarget();
  target.hold();
  const r = await relay(t, [targetConfig("a", { url: target.url, remoteTimeoutMs: 30_000 })], { fakes: [target], writer: { shutdownGraceMs: 200 } });
  const { batchId } = await r.enqueuer.enqueue(gzippedPprof(), ingestData(), ["a"]);
  await target.waitForRequests(1, 5_000);

  const started = Date.now();
  await r.writer!.close();
  assert.ok(Date.now() - started < 5_000, "close() does not wait for the held delivery");
  const job = (await r.queue("a").getJob(drainJobId(batchId)))!;
  assert.equal(await job.getState(), "waiting", "handed back for another writer");
  assert.equal(job.attemptsMade, 0, "without using an attempt");
  assert.ok(await r.batchExists(batchId));
});
