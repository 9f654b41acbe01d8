import assert from "node:assert/strict";
import { after, test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pollUntil, startRedisServer } from "@pyroscope-relay/testing";
import { Job } from "bullmq";
import { BatchStore } from "./batch-store.js";
import { batchJobData } from "./batch-data.js";
import { drainJobId } from "./batch-job.js";
import { scanFailedJobs, type FailedJob } from "./failed-job-scan.js";
import { JobLifecycle } from "./job-lifecycle.js";
import { detachedClaimsKey, detachedProfileKey } from "./keys.js";
import { httpFailure, PAYLOAD_TTL_MS, queueHarness, scriptedDelivery, type QueueHarness } from "./queue-harness.js";
import { replayFailed, type ReplayOptions, type ReplayProgress } from "./replay.js";
import { TargetBacklog } from "./target-backlog.js";

const server = await startRedisServer();
after(() => server.stop());

function replay(h: QueueHarness, options: Partial<ReplayOptions> = {}) {
  return replayFailed({ connection: h.connection, prefix: h.prefix, target: "alpha", payloadTtlMs: PAYLOAD_TTL_MS, ...options });
}

const result = (replayed: number, skipped: number, notMatched: number, replayedProfiles = replayed) => ({ replayed, replayedProfiles, skipped, notMatched });

test("moves failed batches back to waiting with a full retry budget, their copies held again with a fresh TTL", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha", "beta"]);
  const ids = await h.fail("alpha", [httpFailure(400, "a"), httpFailure(400, "b")], ["alpha", "beta"]);
  for (const id of ids) await h.connection.pexpire(detachedProfileKey(h.prefix, id, 0), 5_000);

  const replayedFrom = Date.now();
  assert.deepEqual(await replay(h), result(2, 0, 0));
  const queue = h.queue("alpha");
  assert.deepEqual(await queue.getJobCounts("failed", "waiting"), { failed: 0, waiting: 2 });
  for (const id of ids) {
    const job = (await queue.getJob(id))!;
    assert.equal(job.attemptsMade, 0);
    assert.equal(await job.getState(), "waiting");
    const data = batchJobData.parse(job.data);
    assert.ok(data.replayedAt! >= replayedFrom, "the maximum age counts from the replay");
    assert.equal(data.failure, undefined, "a replayed batch is not failed any more");
    assert.deepEqual(await h.connection.smembers(detachedClaimsKey(h.prefix, id, 0)), [`${id}@alpha`]);
    for (const key of [detachedProfileKey(h.prefix, id, 0), detachedClaimsKey(h.prefix, id, 0)]) {
      assert.ok((await h.connection.pttl(key)) > PAYLOAD_TTL_MS - 60_000, key);
    }
  }
  assert.deepEqual(await new TargetBacklog(h.connection, h.prefix, "alpha").read(), { profiles: 2, bytes: 18 }, "counted back in");

  assert.deepEqual(await replay(h), result(0, 0, 0), "a second run finds nothing");
  assert.equal(await queue.getWaitingCount(), 2, "and adds nothing");

  // A writer delivers them now.
  const delivery = scriptedDelivery(() => "deliver");
  h.worker("alpha", delivery);
  await pollUntil("the replayed batches to be delivered", async () => (await queue.getWaitingCount()) === 0 && (await queue.getActiveCount()) === 0);
  assert.deepEqual(delivery.attempts.flat().sort(), ["n=0", "n=1"]);
  assert.deepEqual(await h.connection.keys(`${h.prefix}:batch:*:profile:*`), [], "delivered copies are deleted");
});

test("a replayed batch sends the profiles it failed with, not those delivered before", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"], { maxBackoffRetries: 1 });
  await Promise.all(
    [0, 1, 2].map((i) => h.enqueuer.enqueue(Buffer.from(`p${i}`), { kind: "ingest", receivedAt: Date.now(), query: `n=${i}`, contentTypes: [] }, ["alpha"])),
  );
  const failing = scriptedDelivery((query) => (query === "n=1" ? "deliver" : { retry: httpFailure(503, "down") }));
  const first = h.worker("alpha", failing);
  await pollUntil("the batch to fail", async () => (await h.queue("alpha").getFailedCount()) >= 1);
  await first.close();

  assert.deepEqual(await replay(h), result(1, 0, 0, 2));
  const again = scriptedDelivery(() => "deliver");
  h.worker("alpha", again);
  await pollUntil(
    "the replayed batch to be delivered",
    async () => (await h.queue("alpha").getWaitingCount()) + (await h.queue("alpha").getActiveCount()) === 0,
  );
  assert.deepEqual(again.attempts, [["n=0", "n=2"]]);
});

test("a replayed batch forgets the progress it saved before it failed, which may name what failed", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [id] = await h.fail("alpha", [httpFailure(400, "bad")]);
  const job = (await h.queue("alpha").getJob(id!))!;
  // As a progress record written between the failure and the split that a crash cut short.
  await job.updateProgress({ handled: { "0": [0] } });

  assert.deepEqual(await replay(h), result(1, 0, 0));
  const again = scriptedDelivery(() => "deliver");
  h.worker("alpha", again);
  await pollUntil(
    "the replayed batch to be delivered",
    async () => (await h.queue("alpha").getWaitingCount()) + (await h.queue("alpha").getActiveCount()) === 0,
  );
  assert.deepEqual(again.attempts, [["n=0"]]);
});

test("skips a batch whose profiles are gone, or unknown, and leaves it in failed", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [gone, kept, unreadable] = await h.fail("alpha", [httpFailure(400, "a"), httpFailure(400, "b"), httpFailure(400, "c")]);
  await h.connection.del(detachedProfileKey(h.prefix, gone!, 0), detachedClaimsKey(h.prefix, gone!, 0));
  await (await h.queue("alpha").getJob(unreadable!))!.updateData({ kind: "from a future version" } as never);

  assert.deepEqual(await replay(h), result(1, 2, 0));
  assert.equal(await h.queue("alpha").getJobState(gone!), "failed");
  assert.equal(await h.queue("alpha").getJobState(unreadable!), "failed");
  assert.equal(await h.queue("alpha").getJobState(kept!), "waiting");
  assert.equal(await h.connection.exists(detachedClaimsKey(h.prefix, gone!, 0)), 0, "no claim without a copy");
});

test("a dry run changes nothing and reports what a replay would do", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const ids = await h.fail("alpha", [httpFailure(400, "a"), { reason: "timeout", detail: "" }, httpFailure(400, "c")]);
  await h.connection.del(detachedProfileKey(h.prefix, ids[2]!, 0));
  const before = await h.connection.pttl(detachedProfileKey(h.prefix, ids[0]!, 0));
  const dump = async () => Promise.all((await h.connection.keys(`${h.prefix}:*`)).sort().map(async (key) => [key, await h.connection.dump(key)]));
  const snapshot = await dump();

  assert.deepEqual(await replay(h, { dryRun: true, reason: "http" }), result(1, 1, 1));
  assert.deepEqual(await dump(), snapshot);
  assert.ok((await h.connection.pttl(detachedProfileKey(h.prefix, ids[0]!, 0))) <= before, "TTL not refreshed");
});

test("given its dry run's time, a replay acts on the batches the dry run counted: not on those failing after, its since window pinned there", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const early = await h.fail("alpha", [httpFailure(400, "early")]);
  await sleep(300);
  const counted = await h.fail("alpha", [httpFailure(400, "a"), httpFailure(400, "b")]);
  const asOfMs = Date.now();
  assert.deepEqual(await replay(h, { dryRun: true, sinceMs: 200, asOfMs }), result(2, 0, 1));
  await sleep(300);
  const later = await h.fail("alpha", [httpFailure(400, "later")]);

  // 300 ms on, a window of 200 ms from now would hold only the later one.
  assert.deepEqual(await replay(h, { sinceMs: 200, asOfMs }), result(2, 0, 1));
  const queue = h.queue("alpha");
  assert.deepEqual(await Promise.all([...early, ...counted, ...later].map((id) => queue.getJobState(id))), ["failed", "waiting", "waiting", "failed"]);
  assert.deepEqual(await replay(h, { asOfMs: Date.now() + 60_000 }), result(2, 0, 0), "a time to come acts as now");
});

test("filters by reason, status and failure time, and stops at the limit, oldest first", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const old = await h.fail("alpha", [httpFailure(400, "old"), httpFailure(500, "old")]);
  await sleep(300);
  const recentStarted = Date.now();
  const recent = await h.fail("alpha", [
    httpFailure(400, "new"),
    { reason: "network ECONNREFUSED", detail: "" },
    httpFailure(400, "newer"),
    httpFailure(413, "big"),
  ]);
  const queue = h.queue("alpha");

  assert.deepEqual(await replay(h, { reason: "network" }), result(1, 0, 5));
  assert.equal(await queue.getJobState(recent[1]!), "waiting");

  assert.deepEqual(await replay(h, { status: 400, sinceMs: Date.now() - recentStarted + 50 }), result(2, 0, 3));
  assert.deepEqual(await Promise.all([recent[0], recent[2], old[0]].map((id) => queue.getJobState(id!))), ["waiting", "waiting", "failed"]);

  assert.deepEqual(await replay(h, { reason: "http", limit: 1 }), result(1, 0, 0));
  assert.equal(await queue.getJobState(old[0]!), "waiting", "the oldest goes first");
  assert.deepEqual(await replay(h, { reason: "HTTP 413" }), result(1, 0, 1));
  assert.equal(await queue.getJobState(old[1]!), "failed");
});

test("with exactReason, a reason matches its kind whole: a failed row of `failed` alone", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [plain, coded] = await h.fail("alpha", [httpFailure(422, "plain"), { reason: "http 422 invalid_argument", status: 422, detail: "coded" }]);
  assert.deepEqual(await replay(h, { reason: "http 422", exactReason: true, dryRun: true }), result(1, 0, 1));
  assert.deepEqual(await replay(h, { reason: "http 422", exactReason: true }), result(1, 0, 1));
  assert.deepEqual(await Promise.all([plain, coded].map((id) => h.queue("alpha").getJobState(id!))), ["waiting", "failed"]);
});

test("reports progress after each batch", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  await h.fail("alpha", [httpFailure(400, "a"), { reason: "timeout", detail: "" }, httpFailure(400, "c")]);
  const progress: ReplayProgress[] = [];
  assert.deepEqual(await replay(h, { reason: "http", onProgress: (p) => progress.push(p) }), result(2, 0, 1));
  assert.deepEqual(
    progress.map((p) => [p.examined, p.total, p.replayed, p.notMatched]),
    [
      [1, 3, 1, 0],
      [2, 3, 1, 1],
      [3, 3, 2, 1],
    ],
  );
});

test("counts batches only: a drain job BullMQ failed is in no total, before the time range or in it", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  await h.fail("alpha", [httpFailure(400, "a"), httpFailure(400, "b")]);
  await h.connection.zadd(h.queue("alpha").toKey("failed"), 1, drainJobId(), Date.now(), drainJobId());
  const progress: ReplayProgress[] = [];
  assert.deepEqual(await replay(h, { sinceMs: 60_000, onProgress: (p) => progress.push(p) }), result(2, 0, 0));
  assert.deepEqual(progress.at(-1), { replayed: 2, replayedProfiles: 2, skipped: 0, notMatched: 0, examined: 2, total: 2 });
});

test("two replays at once replay each batch once; what the other took counts as not matched", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const ids = await h.fail(
    "alpha",
    Array.from({ length: 40 }, (_, i) => httpFailure(400, String(i))),
  );
  const [first, second] = await Promise.all([replay(h, { pageSize: 5 }), replay(h, { pageSize: 5 })]);
  t.diagnostic(`first ${JSON.stringify(first)}, second ${JSON.stringify(second)}`);
  assert.equal(first.replayed + second.replayed, 40);
  assert.ok(first.notMatched + second.notMatched > 0, "they met on some batch");
  const states = await Promise.all(ids.map((id) => h.queue("alpha").getJobState(id)));
  assert.deepEqual(new Set(states), new Set(["waiting"]));
  const counted = await new TargetBacklog(h.connection, h.prefix, "alpha").read();
  assert.deepEqual(counted, { profiles: 40, bytes: ids.reduce((sum, _, i) => sum + `profile ${i}`.length, 0) }, "each replayed batch counts back in once");
});

test("replays each batch once while writers run and fail it again at once", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  await h.fail(
    "alpha",
    Array.from({ length: 150 }, (_, i) => httpFailure(400, String(i))),
  );
  h.worker(
    "alpha",
    scriptedDelivery(() => ({ fail: httpFailure(400, "still broken") })),
    { concurrency: 4 },
  );
  assert.deepEqual(await replay(h, { pageSize: 20 }), result(150, 0, 0));
});

test("replays each batch once when the writers' clock is behind the replay's, so that a new failure scores before the replay began", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  await h.fail(
    "alpha",
    Array.from({ length: 40 }, (_, i) => httpFailure(400, String(i))),
  );
  h.worker(
    "alpha",
    scriptedDelivery(() => ({ fail: httpFailure(400, "still broken") })),
    { concurrency: 4 },
  );
  // The replay reads its start from a clock 5 s ahead of the writers'.
  const now = Date.now;
  t.mock.method(Date, "now", () => now() + 5_000, { times: 1 });
  assert.deepEqual(await replay(h, { pageSize: 5 }), result(40, 0, 0));
});

test("surfaces Redis errors", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [id] = await h.fail("alpha", [httpFailure(400, "a")]);
  await h.connection.set(detachedClaimsKey(h.prefix, id!, 0), "not a set");
  await assert.rejects(replay(h), /WRONGTYPE/);
  await h.connection.set(h.queue("alpha").toKey("failed"), "not a sorted set");
  await assert.rejects(replay(h), /WRONGTYPE/);
});

test("a batch that failed again after the scan read it (another replay, and a writer) is not replayed on what the scan read", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [id] = await h.fail("alpha", [httpFailure(400, "a")]);
  const queue = h.queue("alpha");
  let scanned: FailedJob | undefined;
  for await (const page of scanFailedJobs(h.connection, queue)) scanned ??= page[0];
  await h.connection.zadd(queue.toKey("failed"), scanned!.failedAt + 1_000, id!);

  const lifecycle = new JobLifecycle({ connection: h.connection, prefix: h.prefix, target: "alpha" });
  t.after(() => lifecycle.close());
  assert.equal(await lifecycle.replay({ ...scanned!, data: scanned!.data! }, PAYLOAD_TTL_MS), "notMatched");
  assert.equal(await queue.getJobState(id!), "failed");
  assert.deepEqual(await new TargetBacklog(h.connection, h.prefix, "alpha").read(), { profiles: 0, bytes: 0 }, "not counted in");
});

test("a replay cut short before the move leaves the batch failed as it was: its reason, out of the backlog, replayed by the next run", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [id] = await h.fail("alpha", [httpFailure(400, "bad")]);
  const queue = h.queue("alpha");
  const retry = t.mock.method(Job.prototype, "retry", async () => {
    throw new Error("Connection is closed.");
  });
  await assert.rejects(replay(h), /Connection is closed/);
  retry.mock.restore();

  assert.equal(await queue.getJobState(id!), "failed");
  assert.deepEqual(batchJobData.parse((await queue.getJob(id!))!.data).failure, httpFailure(400, "bad"), "it says why it failed");
  assert.deepEqual(await new TargetBacklog(h.connection, h.prefix, "alpha").read(), { profiles: 0, bytes: 0 }, "counted out again");
  assert.deepEqual(await replay(h, { reason: "http 400" }), result(1, 0, 0), "the same filter finds it");
  assert.equal(await queue.getJobState(id!), "waiting");
});

test("a batch that fails again while a second replay takes hold of it keeps its new failure: the stale replay neither overwrites nor counts it", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [id] = await h.fail("alpha", [httpFailure(400, "first")]);
  const queue = h.queue("alpha");
  let scanned: FailedJob | undefined;
  for await (const page of scanFailedJobs(h.connection, queue)) scanned ??= page[0];
  const lifecycle = new JobLifecycle({ connection: h.connection, prefix: h.prefix, target: "alpha" });
  t.after(() => lifecycle.close());
  // Between the replay's check and its change of the data: another replay moved the batch, a
  // writer failed it anew (another failure, a later score) and counted it out.
  const newFailure = { ...scanned!.data!, failure: httpFailure(422, "second") };
  const reclaim = BatchStore.prototype.reclaim;
  t.mock.method(BatchStore.prototype, "reclaim", async function (this: BatchStore, ...args: Parameters<BatchStore["reclaim"]>) {
    await h.connection.zadd(queue.toKey("failed"), scanned!.failedAt + 1_000, id!);
    await h.connection.hset(queue.toKey(id!), "data", JSON.stringify(newFailure));
    return reclaim.apply(this, args);
  });

  assert.equal(await lifecycle.replay({ ...scanned!, data: scanned!.data! }, PAYLOAD_TTL_MS), "notMatched");
  assert.equal(await queue.getJobState(id!), "failed");
  assert.deepEqual(batchJobData.parse((await queue.getJob(id!))!.data).failure, httpFailure(422, "second"), "the new failure stays");
  assert.deepEqual(await new TargetBacklog(h.connection, h.prefix, "alpha").read(), { profiles: 0, bytes: 0 }, "not counted in");
});

/**
 * A replay of a failed batch whose copy another target's failed job holds too, during which a purge
 * removes the batch right after the replay checked that it is still failed, before it holds it.
 */
async function replayRacingPurge(t: TestContext) {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [id] = await h.fail("alpha", [httpFailure(400, "a")]);
  const queue = h.queue("alpha");
  let scanned: FailedJob | undefined;
  for await (const page of scanFailedJobs(h.connection, queue)) scanned ??= page[0];
  const claims = detachedClaimsKey(h.prefix, id!, 0);
  await h.connection.sadd(claims, `${id}@beta`);
  const purger = new JobLifecycle({ connection: h.connection, prefix: h.prefix, target: "alpha" });
  t.after(() => purger.close());
  const racing = new Proxy(h.connection, {
    get(target, property) {
      if (property === "zscore") {
        return async (...args: Parameters<typeof target.zscore>) => {
          const score = await target.zscore(...args);
          assert.equal((await purger.discard(scanned!, "purge")).removed, true);
          return score;
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const lifecycle = new JobLifecycle({ connection: racing, prefix: h.prefix, target: "alpha" });
  t.after(() => lifecycle.close());
  const outcome = await lifecycle.replay({ ...scanned!, data: scanned!.data! }, PAYLOAD_TTL_MS);
  return { h, id: id!, outcome, job: await queue.getJob(id!), holders: await h.connection.smembers(claims) };
}

test("a batch a purge removes before the replay holds it, with no step between that finds it gone: the replay lets go of what it took", async (t) => {
  // As for a batch job of an earlier version, which has no progress to reset: nothing before the
  // change of its data finds the job gone.
  t.mock.method(Job.prototype, "updateProgress", async () => undefined);
  const { id, outcome, job, holders } = await replayRacingPurge(t);
  assert.equal(outcome, "notMatched");
  assert.equal(job, undefined, "purged");
  assert.deepEqual(holders, [`${id}@beta`], "no hold of the purged job is left");
});

test("a batch a purge removes while a replay takes hold of it: the replay lets go of what it took, copies another job holds stay", async (t) => {
  const { h, id, outcome, job, holders } = await replayRacingPurge(t);
  assert.equal(outcome, "notMatched");
  assert.equal(job, undefined, "purged");
  assert.deepEqual(holders, [`${id}@beta`], "no hold of the purged job is left");
  assert.ok((await h.connection.pttl(detachedProfileKey(h.prefix, id, 0))) > 0);
});
