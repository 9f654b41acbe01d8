import assert from "node:assert/strict";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pollUntil, startRedisServer } from "@pyroscope-relay/testing";
import type { BatchJobData } from "./batch-data.js";
import { addDrainJob, DRAIN_DEDUPLICATION_ID } from "./batch-job.js";
import { FailedJobRetention } from "./failed-retention.js";
import { queueNameFor } from "./keys.js";
import { purgeFailed } from "./purge.js";
import { httpFailure, ingestFacts, queueHarness, scriptedDelivery, type QueueHarness } from "./queue-harness.js";
import { replayFailed } from "./replay.js";
import { readTargetStates, type TargetState } from "./target-state.js";

const server = await startRedisServer();
after(() => server.stop());

async function stateOf(h: QueueHarness, target: string, shards = 1): Promise<TargetState> {
  const [state] = await readTargetStates(h.connection, h.prefix, [target], shards);
  return state!;
}

const none = { profiles: 0, bytes: 0 };

test("after enqueueing: jobs waiting, the backlog, the oldest waiting age; nothing delivered, circuit closed", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha", "beta"]);
  const first = Date.now();
  await h.enqueuer.enqueue(Buffer.alloc(100), ingestFacts("n=0"), ["alpha"]);
  // The first job was created between `first` and now.
  const firstStored = Date.now();
  await sleep(50);
  await h.enqueuer.enqueue(Buffer.alloc(200), ingestFacts("n=1"), ["alpha"]);
  const before = Date.now();
  const [alpha, beta] = await readTargetStates(h.connection, h.prefix, ["alpha", "beta"]);
  const elapsed = Date.now() - first;
  assert.deepEqual(
    { ...alpha!, oldestWaitingAgeMs: undefined },
    {
      target: "alpha",
      jobs: { waiting: 2, delayed: 0, active: 0, failed: 0, prioritized: 0 },
      backlog: { profiles: 2, bytes: 300 },
      oldestWaitingAgeMs: undefined,
      circuitOpenUntil: null,
      deliveredProfiles: 0,
      discarded: { purge: none, retention: none },
    },
  );
  assert.ok(alpha!.oldestWaitingAgeMs! >= before - firstStored && alpha!.oldestWaitingAgeMs! <= elapsed, `age ${alpha!.oldestWaitingAgeMs} of the first job`);
  assert.deepEqual(beta!.jobs, { waiting: 0, delayed: 0, active: 0, failed: 0, prioritized: 0 });
  assert.equal(beta!.oldestWaitingAgeMs, null);
});

test("after a delivery: the delivered total counts the batch's profiles once, the queue and backlog are empty, the circuit closed", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  // Three requests of one flush: one batch of three profiles.
  await Promise.all([0, 1, 2].map((i) => h.enqueuer.enqueue(Buffer.alloc(10), ingestFacts(`n=${i}`), ["alpha"])));
  h.worker(
    "alpha",
    scriptedDelivery(() => "deliver"),
  );
  await pollUntil("delivered", async () => (await stateOf(h, "alpha")).deliveredProfiles === 3);
  await h.enqueuer.enqueue(Buffer.alloc(10), ingestFacts("n=3"), ["alpha"]);
  await pollUntil("the next batch delivered", async () => (await stateOf(h, "alpha")).deliveredProfiles === 4);
  // The limiter key exists in normal operation too, counting the jobs taken this second: no pause.
  await h.connection.set(`${h.prefix}:${queueNameFor("alpha")}:limiter`, "2", "PX", 10_000);
  const state = await stateOf(h, "alpha");
  assert.deepEqual(state.jobs, { waiting: 0, delayed: 0, active: 0, failed: 0, prioritized: 0 });
  assert.deepEqual(state.backlog, none);
  assert.equal(state.oldestWaitingAgeMs, null);
  assert.equal(state.circuitOpenUntil, null);
});

test("a target its writers paused shows until when", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  await h.enqueuer.enqueue(Buffer.alloc(10), ingestFacts("n=0"), ["alpha"]);
  const pausedAt = Date.now();
  h.worker(
    "alpha",
    scriptedDelivery(() => ({ retry: { reason: "http 503", status: 503, detail: "" }, pauseMs: 30_000 })),
  );
  await pollUntil("the pause", async () => (await stateOf(h, "alpha")).circuitOpenUntil !== null);
  const state = await stateOf(h, "alpha");
  assert.ok(state.circuitOpenUntil! > pausedAt + 29_000 && state.circuitOpenUntil! <= Date.now() + 30_000, `open until ${state.circuitOpenUntil}`);
  // Handed back without using an attempt: it waits again, counted in the backlog.
  await pollUntil("the batch back in line", async () => (await stateOf(h, "alpha")).jobs.waiting === 1);
  assert.deepEqual((await stateOf(h, "alpha")).backlog, { profiles: 1, bytes: 10 });
});

test("the oldest waiting age is the oldest of the jobs next in line, from their creation or last replay", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const queue = h.queue("alpha");
  const now = Date.now();
  const data: BatchJobData = {
    batch: "b",
    bytes: 1,
    profiles: [{ kind: "ingest", index: 0, offset: 0, size: 1, receivedAt: now, query: "", contentTypes: [] }],
  };
  // Head of the line, created 1 s ago; behind it one created 5 s ago (a retry rejoins at the tail),
  // and one created an hour ago but replayed 2 s ago.
  await queue.add("batch", data, { jobId: "j-head", timestamp: now - 1_000 });
  await queue.add("batch", data, { jobId: "j-retried", timestamp: now - 5_000 });
  await queue.add("batch", { ...data, replayedAt: now - 2_000 }, { jobId: "j-replayed", timestamp: now - 3_600_000 });
  // A delayed job waits for its backoff, not in line.
  await queue.add("batch", data, { jobId: "j-delayed", timestamp: now - 60_000, delay: 60_000 });
  const state = await stateOf(h, "alpha");
  assert.deepEqual(state.jobs, { waiting: 3, delayed: 1, active: 0, failed: 0, prioritized: 0 });
  assert.ok(state.oldestWaitingAgeMs! >= 5_000 && state.oldestWaitingAgeMs! < 6_000, `age ${state.oldestWaitingAgeMs}`);
  await queue.remove("j-retried");
  const age = (await stateOf(h, "alpha")).oldestWaitingAgeMs!;
  assert.ok(age >= 2_000 && age < 3_000, `age ${age}: the replay counts, not the creation an hour ago`);
});

test("the oldest waiting age counts the flushes waiting for a drain job, older than the drain job next in line", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const queue = h.queue("alpha");
  const stored = Date.now();
  await h.enqueuer.enqueue(Buffer.alloc(10), ingestFacts("n=0"), ["alpha"]);
  await sleep(400);
  // A drain job that claimed its bounds added the next one just now: it is young, what waits is not.
  for (const job of await queue.getWaiting()) await job.remove();
  await h.connection.del(`${h.prefix}:${queueNameFor("alpha")}:de:${DRAIN_DEDUPLICATION_ID}`);
  await addDrainJob(queue, 3);
  const age = (await stateOf(h, "alpha")).oldestWaitingAgeMs!;
  assert.ok(age >= 400 && age <= Date.now() - stored, `age ${age}: the flush's, not the drain job's`);
});

test("sums a target's queue shards", async (t) => {
  const SHARDS = 4;
  const h = await queueHarness(t, server.url, ["alpha"], { shards: SHARDS });
  for (let i = 0; i < 20; i++) await h.enqueuer.enqueue(Buffer.alloc(10), ingestFacts(`n=${i}`), ["alpha"]);
  let state = await stateOf(h, "alpha", SHARDS);
  assert.equal(state.jobs.waiting, 20);
  assert.deepEqual(state.backlog, { profiles: 20, bytes: 200 });
  assert.equal((await stateOf(h, "alpha", 1)).jobs.waiting < 20, true, "shard 0 alone holds fewer");
  h.worker(
    "alpha",
    scriptedDelivery(() => "deliver"),
  );
  await pollUntil("every shard delivered", async () => (await stateOf(h, "alpha", SHARDS)).deliveredProfiles === 20);
  state = await stateOf(h, "alpha", SHARDS);
  assert.equal(state.jobs.waiting, 0);
  assert.equal(state.oldestWaitingAgeMs, null);
});

test("failed batches count as failed jobs; purged and retained-away ones as discarded, once each; a replayed one delivered", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  await h.fail("alpha", [httpFailure(400, "a"), httpFailure(400, "b"), httpFailure(400, "c"), httpFailure(400, "d")]);
  let state = await stateOf(h, "alpha");
  assert.equal(state.jobs.failed, 4);
  assert.deepEqual(state.backlog, none, "a failed batch has left the backlog");

  await replayFailed({ connection: h.connection, prefix: h.prefix, target: "alpha", payloadTtlMs: 60_000, limit: 1 });
  h.worker(
    "alpha",
    scriptedDelivery(() => "deliver"),
  );
  await pollUntil("the replayed batch delivered", async () => (await stateOf(h, "alpha")).deliveredProfiles === 1);

  const retention = new FailedJobRetention({
    connection: h.connection,
    prefix: h.prefix,
    targets: ["alpha"],
    maxAgeMs: 3_600_000,
    maxCount: 2,
    onError: (err) => assert.fail(err),
  });
  await retention.sweep();
  await retention.stop();
  await purgeFailed({ connection: h.connection, prefix: h.prefix, target: "alpha" });
  await purgeFailed({ connection: h.connection, prefix: h.prefix, target: "alpha" });
  state = await stateOf(h, "alpha");
  assert.equal(state.jobs.failed, 0);
  // Each stored profile is `profile <i>`: 9 bytes.
  assert.deepEqual(state.discarded, { retention: { profiles: 1, bytes: 9 }, purge: { profiles: 2, bytes: 18 } });
  assert.equal(state.deliveredProfiles, 1);
});
