import assert from "node:assert/strict";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startRedisServer } from "@pyroscope-relay/testing";
import { UnrecoverableError, Worker } from "bullmq";
import { failedJobsHarness, PAYLOAD_TTL_MS, type FailedJobsHarness } from "./failed-jobs-harness.js";
import { backlogBytesKey, queueNameFor, payloadKey, pendingKey } from "./keys.js";
import { PayloadStore } from "./payload-store.js";
import { createRedisConnection } from "./redis-connection.js";
import { replayFailed, type ReplayOptions, type ReplayProgress } from "./replay.js";

const server = await startRedisServer();
after(() => server.stop());

function replay(h: FailedJobsHarness, options: Partial<ReplayOptions> = {}) {
  return replayFailed({ connection: h.connection, prefix: h.prefix, target: "alpha", payloadTtlMs: PAYLOAD_TTL_MS, ...options });
}

test("moves failed jobs back to waiting with a full retry budget, the claim back and a fresh payload TTL", async (t) => {
  const h = await failedJobsHarness(t, server.url, ["alpha", "beta"]);
  const ids = await h.fail("alpha", ["http 400: a", "http 400: b"], ["alpha", "beta"]);
  const store = new PayloadStore(h.connection, h.prefix);
  for (const id of ids) {
    await store.release(id, "beta");
    await h.connection.pexpire(payloadKey(h.prefix, id), 5_000);
  }
  // A claim lost to a TTL skew comes back too.
  await store.release(ids[1]!, "alpha");
  await h.connection.set(payloadKey(h.prefix, ids[1]!), "kept", "PX", 5_000);

  const replayedFrom = Date.now();
  assert.deepEqual(await replay(h), { replayed: 2, skipped: 0, notMatched: 0 });
  const queue = h.queue("alpha");
  assert.deepEqual(await queue.getJobCounts("failed", "waiting"), { failed: 0, waiting: 2 });
  for (const id of ids) {
    const job = (await queue.getJob(id))!;
    assert.equal(job.attemptsMade, 0);
    assert.equal(await job.getState(), "waiting");
    assert.ok(job.data.replayedAt! >= replayedFrom, "the maximum age counts from the replay");
    assert.deepEqual(await store.pending(id), ["alpha"]);
    for (const key of [payloadKey(h.prefix, id), pendingKey(h.prefix, id)]) {
      assert.ok((await h.connection.pttl(key)) > PAYLOAD_TTL_MS - 60_000, key);
    }
  }

  assert.deepEqual(await replay(h), { replayed: 0, skipped: 0, notMatched: 0 }, "a second run finds nothing");
  assert.equal(await queue.getWaitingCount(), 2, "and adds nothing");
});

test("skips a job whose payload is gone, or unknown, and leaves it in failed", async (t) => {
  const h = await failedJobsHarness(t, server.url, ["alpha"]);
  const [gone, kept, unreadable] = await h.fail("alpha", ["http 400: a", "http 400: b", "http 400: c"]);
  await h.connection.del(payloadKey(h.prefix, gone!), pendingKey(h.prefix, gone!));
  await (await h.queue("alpha").getJob(unreadable!))!.updateData({ kind: "from a future version" } as never);

  assert.deepEqual(await replay(h), { replayed: 1, skipped: 2, notMatched: 0 });
  assert.equal(await h.queue("alpha").getJobState(gone!), "failed");
  assert.equal(await h.queue("alpha").getJobState(unreadable!), "failed");
  assert.equal(await h.queue("alpha").getJobState(kept!), "waiting");
  assert.equal(await h.connection.exists(pendingKey(h.prefix, gone!)), 0, "no claim without a payload");
});

test("a dry run changes nothing and reports what a replay would do", async (t) => {
  const h = await failedJobsHarness(t, server.url, ["alpha"]);
  const ids = await h.fail("alpha", ["http 400: a", "timeout", "http 400: c"]);
  await h.connection.del(payloadKey(h.prefix, ids[2]!));
  const before = await h.connection.pttl(payloadKey(h.prefix, ids[0]!));
  const dump = async () => Promise.all((await h.connection.keys(`${h.prefix}:*`)).sort().map(async (key) => [key, await h.connection.dump(key)]));
  const snapshot = await dump();

  assert.deepEqual(await replay(h, { dryRun: true, reason: "http" }), { replayed: 1, skipped: 1, notMatched: 1 });
  assert.deepEqual(await dump(), snapshot);
  assert.ok((await h.connection.pttl(payloadKey(h.prefix, ids[0]!))) <= before, "TTL not refreshed");
});

test("filters by reason, status and failure time, and stops at the limit, oldest first", async (t) => {
  const h = await failedJobsHarness(t, server.url, ["alpha"]);
  const old = await h.fail("alpha", ["http 400: old", "http 500: old"]);
  await sleep(300);
  const recent = await h.fail("alpha", ["http 400: new", "network ECONNREFUSED", "http 400: newer", "http 413: big"]);
  const queue = h.queue("alpha");

  assert.deepEqual(await replay(h, { reason: "network" }), { replayed: 1, skipped: 0, notMatched: 5 });
  assert.equal(await queue.getJobState(recent[1]!), "waiting");

  assert.deepEqual(await replay(h, { status: 400, sinceMs: 200 }), { replayed: 2, skipped: 0, notMatched: 3 });
  assert.deepEqual(await Promise.all([recent[0], recent[2], old[0]].map((id) => queue.getJobState(id!))), ["waiting", "waiting", "failed"]);

  assert.deepEqual(await replay(h, { reason: "http", limit: 1 }), { replayed: 1, skipped: 0, notMatched: 0 });
  assert.equal(await queue.getJobState(old[0]!), "waiting", "the oldest goes first");
  assert.deepEqual(await replay(h, { reason: "HTTP 413" }), { replayed: 1, skipped: 0, notMatched: 1 });
  assert.equal(await queue.getJobState(old[1]!), "failed");
});

test("reports progress after each job", async (t) => {
  const h = await failedJobsHarness(t, server.url, ["alpha"]);
  await h.fail("alpha", ["http 400: a", "timeout", "http 400: c"]);
  const progress: ReplayProgress[] = [];
  assert.deepEqual(await replay(h, { reason: "http", onProgress: (p) => progress.push(p) }), { replayed: 2, skipped: 0, notMatched: 1 });
  assert.deepEqual(progress.map((p) => [p.examined, p.total, p.replayed, p.notMatched]), [[1, 3, 1, 0], [2, 3, 1, 1], [3, 3, 2, 1]]);
});

test("two replays at once replay each job once; what the other took counts as not matched", async (t) => {
  const h = await failedJobsHarness(t, server.url, ["alpha"]);
  const ids = await h.fail("alpha", Array.from({ length: 40 }, (_, i) => `http 400: ${i}`));
  const [first, second] = await Promise.all([replay(h, { pageSize: 5 }), replay(h, { pageSize: 5 })]);
  t.diagnostic(`first ${JSON.stringify(first)}, second ${JSON.stringify(second)}`);
  assert.equal(first.replayed + second.replayed, 40);
  assert.ok(first.notMatched + second.notMatched > 0, "they met on some job");
  const states = await Promise.all(ids.map((id) => h.queue("alpha").getJobState(id)));
  assert.deepEqual(new Set(states), new Set(["waiting"]));
  const counted = Number(await h.connection.get(backlogBytesKey(h.prefix, "alpha")));
  assert.equal(counted, ids.reduce((sum, _, i) => sum + `profile ${i}`.length, 0), "each replayed job is counted back into the backlog once");
});

test("replays each job once while writers run and fail it again at once", async (t) => {
  const h = await failedJobsHarness(t, server.url, ["alpha"]);
  await h.fail("alpha", Array.from({ length: 150 }, (_, i) => `http 400: ${i}`));
  const connection = createRedisConnection(server.url, "worker");
  const writer = new Worker(queueNameFor("alpha"), async () => {
    throw new UnrecoverableError("http 400: still broken");
  }, { connection, prefix: h.prefix, concurrency: 4 });
  t.after(async () => {
    await writer.close();
    connection.disconnect();
  });
  assert.deepEqual(await replay(h, { pageSize: 20 }), { replayed: 150, skipped: 0, notMatched: 0 });
});

test("surfaces Redis errors", async (t) => {
  const h = await failedJobsHarness(t, server.url, ["alpha"]);
  const [id] = await h.fail("alpha", ["http 400: a"]);
  await h.connection.set(pendingKey(h.prefix, id!), "not a set");
  await assert.rejects(replay(h), /WRONGTYPE/);
  await h.connection.set(h.queue("alpha").toKey("failed"), "not a sorted set");
  await assert.rejects(replay(h), /WRONGTYPE/);
});
