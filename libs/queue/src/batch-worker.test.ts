import assert from "node:assert/strict";
import { after, test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pollUntil, startRedisServer } from "@pyroscope-relay/testing";
import { UnrecoverableError, Worker } from "bullmq";
import { batchJobData, type BatchJobData } from "./batch-data.js";
import { batchJobOptions, drainJobId, isDrain, type BatchJob } from "./batch-job.js";
import { HAND_BACK_MS } from "./batch-worker.js";
import { UnreadableClaimError } from "./errors.js";
import { JobLifecycle } from "./job-lifecycle.js";
import { JobWork } from "./job-work.js";
import { BatchProgress } from "./batch-progress.js";
import { readTargetStates } from "./target-state.js";
import { createRedisConnection } from "./redis-connection.js";
import { batchClaimsKey, batchRefsKey, chunkKey, detachedClaimsKey, detachedProfileKey } from "./keys.js";
import { PendingSegments } from "./pending-segments.js";
import { FAILED_TTL_MS, httpFailure, ingestFacts, PAYLOAD_TTL_MS, queueHarness, scriptedDelivery, type QueueHarness } from "./queue-harness.js";
import { TargetBacklog } from "./target-backlog.js";
import { TargetLifecycles } from "./target-lifecycles.js";
import { type FailedJob, UNREADABLE_CLAIM } from "./failed-job-scan.js";
import { purgeFailed } from "./purge.js";
import { replayFailed } from "./replay.js";
import { pauseQueue } from "./target-pause.js";
import { queueNameFor } from "./keys.js";

const server = await startRedisServer();
after(() => server.stop());

/** Enqueues `count` profiles (queries `n=0`...) in one flush; resolves with the batch id. */
async function flush(h: QueueHarness, count: number, targets = ["alpha"]): Promise<string> {
  const results = await Promise.all(Array.from({ length: count }, (_, i) => h.enqueuer.enqueue(Buffer.from(`profile ${i}`), ingestFacts(`n=${i}`), targets)));
  const ids = new Set(results.map((result) => result.batchId));
  assert.equal(ids.size, 1, "one flush");
  return [...ids][0]!;
}

test("a delivered batch lets go of its payload: the chunks go with the last target, the backlog empties", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha", "beta"]);
  const batchId = await flush(h, 5, ["alpha", "beta"]);
  const alpha = scriptedDelivery(() => "deliver");
  h.worker("alpha", alpha);
  await pollUntil("alpha to finish", async () => (await h.connection.smembers(batchClaimsKey(h.prefix, batchId))).join() === "beta");
  assert.deepEqual(alpha.attempts, [["n=0", "n=1", "n=2", "n=3", "n=4"]], "one attempt carries the whole batch");
  assert.equal(await h.connection.exists(chunkKey(h.prefix, batchId, 0)), 1, "beta still needs the payload");
  assert.equal(await h.queue("alpha").getJob(drainJobId(batchId)), undefined, "a completed drain job is removed");

  h.worker(
    "beta",
    scriptedDelivery(() => "deliver"),
  );
  await pollUntil("the payload to go", async () => (await h.connection.exists(chunkKey(h.prefix, batchId, 0))) === 0);
  assert.deepEqual(await h.connection.keys(`${h.prefix}:batch:*`), []);
  for (const target of ["alpha", "beta"]) assert.deepEqual(await new TargetBacklog(h.connection, h.prefix, target).read(), { profiles: 0, bytes: 0 });
});

test("a claim with a batch whose references are gone delivers the rest of the claim, counts those profiles lost, not delivered", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha", "beta"]);
  const gone = await flush(h, 2, ["alpha", "beta"]);
  // The batch's claims lost (a failover that lost a claim, say): alpha's completion lets go of it all.
  await h.connection.del(batchClaimsKey(h.prefix, gone));
  h.worker(
    "alpha",
    scriptedDelivery(() => "deliver"),
  );
  await pollUntil("the batch to go", async () => (await h.connection.keys(`${h.prefix}:batch:{${gone}}:*`)).length === 0);
  const later = (await h.enqueuer.enqueue(Buffer.from("later"), ingestFacts("n=later"), ["beta"])).batchId;

  const beta = scriptedDelivery(() => "deliver");
  const lost: { jobId: string; batches: { batch: string; profiles: number }[] }[] = [];
  h.worker("beta", beta, { observer: { lost: (event) => lost.push(event) } });
  await pollUntil("beta's claim to go", async () => (await h.connection.keys(`${h.prefix}:batch:{${later}}:*`)).length === 0);
  assert.deepEqual(beta.attempts, [["n=later"]], "the batch claimed with the gone one is delivered");
  assert.deepEqual(lost, [{ jobId: drainJobId(gone), batches: [{ batch: gone, profiles: 2 }] }]);
  const backlog = new TargetBacklog(h.connection, h.prefix, "beta");
  await pollUntil("beta's backlog to empty", async () => (await backlog.read()).profiles === 0);
  assert.equal(await h.connection.hget(backlog.totalsKey, "delivered_profiles"), "1", "the lost profiles are not counted delivered");
  assert.deepEqual(await h.queue("beta").getJobCounts("failed"), { failed: 0 });
});

test("a completed job's release that fails (its batch's master down a moment) is tried again, and the payload goes", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const batchId = await flush(h, 2);
  const claims = batchClaimsKey(h.prefix, batchId);
  const errors: string[] = [];
  const delivery = scriptedDelivery(() => "deliver");
  const deliver = delivery.deliver;
  // While the job delivers, the batch's claims turn into a value the release cannot read; they are
  // back half a second later, before the release's next try.
  const broken = new Promise<void>((resolve) => {
    delivery.deliver = async (...args) => {
      await h.connection.rename(claims, `${claims}:aside`);
      await h.connection.set(claims, "not a set");
      setTimeout(() => {
        void h.connection
          .multi()
          .del(claims)
          .rename(`${claims}:aside`, claims)
          .exec()
          .then(() => resolve());
      }, 500);
      return deliver(...args);
    };
  });
  h.worker("alpha", delivery, { observer: { error: (error) => errors.push((error as Error).message) } });
  await broken;
  await pollUntil("the payload to go", async () => (await h.connection.exists(chunkKey(h.prefix, batchId, 0))) === 0);
  assert.deepEqual(await h.connection.keys(`${h.prefix}:batch:*`), []);
  assert.deepEqual(errors, [], "nothing left for the TTL");
});

test("a profile that fails for good is split off into a failed job of its own; the rest is delivered", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const batchId = await flush(h, 4);
  const refused = httpFailure(400, "poison");
  const delivery = scriptedDelivery((query) => (query === "n=2" ? { fail: refused } : "deliver"));
  h.worker("alpha", delivery);
  const failed = await pollUntil("the poison profile's failed job", async () => (await h.queue("alpha").getFailed())[0]);
  assert.equal(failed.id, batchId, "the batch itself keeps the one failure, as nothing else is left");
  const data = batchJobData.parse(failed.data);
  assert.deepEqual(
    data.profiles.map((ref) => ref.kind === "ingest" && ref.query),
    ["n=2"],
  );
  assert.equal(data.detached, true);
  assert.deepEqual(data.failure, refused);
  assert.equal(failed.failedReason, "http 400: poison");
  assert.equal(failed.attemptsMade, 1);
  assert.deepEqual(delivery.attempts, [["n=0", "n=1", "n=2", "n=3"]]);
  // The failed job keeps a copy of its profile; the batch's chunks are gone.
  assert.equal((await h.connection.getBuffer(detachedProfileKey(h.prefix, batchId, 2)))?.toString(), "profile 2");
  assert.deepEqual(await h.connection.smembers(detachedClaimsKey(h.prefix, batchId, 2)), [`${batchId}@alpha`]);
  assert.ok((await h.connection.pttl(detachedProfileKey(h.prefix, batchId, 2))) > FAILED_TTL_MS - 60_000);
  assert.equal(await h.connection.exists(chunkKey(h.prefix, batchId, 0)), 0);
  assert.deepEqual(await new TargetBacklog(h.connection, h.prefix, "alpha").read(), { profiles: 0, bytes: 0 });
});

test("a retry sends only what is left; a failure for good in a batch that goes on is split off at once", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const batchId = await flush(h, 4);
  let attempt = 0;
  const delivery = scriptedDelivery((query) => {
    if (query === "n=0") return { fail: httpFailure(422, "too old") };
    if (query === "n=3" && attempt < 3) return { retry: httpFailure(503, "busy") };
    return "deliver";
  });
  const counting = {
    ...delivery,
    deliver: (...args: Parameters<typeof delivery.deliver>) => {
      attempt++;
      return delivery.deliver(...args);
    },
  };
  h.worker("alpha", counting);
  await pollUntil("the batch to complete", async () => (await h.queue("alpha").getJob(drainJobId(batchId))) === undefined);
  assert.deepEqual(delivery.attempts, [["n=0", "n=1", "n=2", "n=3"], ["n=3"], ["n=3"]]);
  const [split] = await h.queue("alpha").getFailed();
  assert.equal(split?.id, `${batchId}.0.0`, "named by profile 0 and its first failed part");
  assert.deepEqual(batchJobData.parse(split!.data).failure, httpFailure(422, "too old"));
  assert.equal((await h.connection.getBuffer(detachedProfileKey(h.prefix, batchId, 0)))?.toString(), "profile 0");
  assert.equal(await h.connection.exists(chunkKey(h.prefix, batchId, 0)), 0, "the batch is done with its chunks");
  const { totalsKey } = new TargetBacklog(h.connection, h.prefix, "alpha");
  assert.equal(await h.connection.hget(totalsKey, "delivered_profiles"), "3", "the profile split off at the first attempt is not delivered");
});

test("the last attempt fails what is left as the batch, kept with copies of its profiles", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"], { maxBackoffRetries: 2 });
  const batchId = await flush(h, 3);
  const delivery = scriptedDelivery((query) => (query === "n=1" ? "deliver" : { retry: httpFailure(503, "down") }));
  h.worker("alpha", delivery);
  const failed = await pollUntil("the batch to fail", async () => (await h.queue("alpha").getFailed())[0]);
  assert.equal(failed.id, batchId, "named after the batch, as the first failure of its batch");
  // No profile gets more attempts than max_backoff_retries.
  assert.deepEqual(delivery.attempts, [
    ["n=0", "n=1", "n=2"],
    ["n=0", "n=2"],
  ]);
  const data = batchJobData.parse(failed.data);
  assert.deepEqual(
    data.profiles.map((ref) => ref.index),
    [0, 2],
  );
  assert.deepEqual(data.failure, httpFailure(503, "down"));
  for (const index of [0, 2]) assert.equal((await h.connection.getBuffer(detachedProfileKey(h.prefix, batchId, index)))?.toString(), `profile ${index}`);
  assert.equal(await h.connection.exists(detachedProfileKey(h.prefix, batchId, 1)), 0);
  assert.equal(await h.connection.exists(chunkKey(h.prefix, batchId, 0)), 0);
});

test("profiles past the maximum age fail as expired without an attempt; a missing payload fails as payload expired", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const old = await h.enqueuer.enqueue(Buffer.from("old"), { ...ingestFacts("n=old"), receivedAt: Date.now() - 120_000 }, ["alpha"]);
  const gone = await h.enqueuer.enqueue(Buffer.from("gone"), ingestFacts("n=gone"), ["alpha"]);
  await h.connection.del(chunkKey(h.prefix, gone.batchId, 0));
  const delivery = scriptedDelivery(() => "deliver");
  h.worker("alpha", delivery, { maxAgeMs: 60_000 });
  await pollUntil("both to fail", async () => (await h.queue("alpha").getFailedCount()) === 2);
  assert.deepEqual(delivery.attempts, []);
  const expired = (await h.queue("alpha").getJob(old.batchId))!;
  assert.equal(expired.failedReason, "expired: queued longer than the maximum age of 60000 ms");
  assert.equal((await h.connection.getBuffer(detachedProfileKey(h.prefix, old.batchId, 0)))?.toString(), "old", "replayable later");
  assert.match((await h.queue("alpha").getJob(gone.batchId))!.failedReason, /^payload expired: /);
});

test("a pause hands the batch back without using an attempt, with its progress", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const batchId = await flush(h, 2);
  let paused = false;
  const delivery = scriptedDelivery((query) => {
    if (query === "n=1" && !paused) {
      paused = true;
      return { retry: { reason: "http 429", status: 429, detail: "" }, pauseMs: 300 };
    }
    return "deliver";
  });
  const started = Date.now();
  h.worker("alpha", delivery);
  await pollUntil("the batch to complete", async () => (await h.queue("alpha").getJob(drainJobId(batchId))) === undefined);
  const elapsed = Date.now() - started;
  assert.deepEqual(delivery.attempts, [["n=0", "n=1"], ["n=1"]]);
  assert.ok(elapsed >= 290, `the queue paused for the asked time (${elapsed} ms)`);
});

test("a short pause never cuts short a longer one another writer set: the target's Retry-After holds", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  await flush(h, 1);
  const limiter = `${h.prefix}:${queueNameFor("alpha", 0)}:limiter`;
  let attempts = 0;
  h.worker("alpha", {
    attempts: [],
    deliver: async () => {
      attempts++;
      // Meanwhile a writer of another process honours the target's Retry-After: 30 s.
      await pauseQueue(h.connection, h.prefix, queueNameFor("alpha", 0), 30_000);
      return { retry: { reason: "network error", detail: "connection reset" }, pauseMs: 50 };
    },
  });
  await pollUntil("the attempt", async () => attempts === 1);
  await sleep(300);
  const left = await h.connection.pttl(limiter);
  assert.ok(left > 25_000, `the 30 s pause holds, ${left} ms left`);
  assert.equal(attempts, 1, "the batch waits out the longer pause");
});

test("a pause for a streak of errors uses the job's attempts: a target that keeps failing fails the batch once they are spent", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"], { maxBackoffRetries: 3 });
  const batchId = await flush(h, 1);
  const delivery = scriptedDelivery(() => ({ retry: httpFailure(500, "boom"), pauseMs: 50, pauseUsesAttempt: true }));
  h.worker("alpha", delivery);
  const failed = await pollUntil("the batch to fail", async () => (await h.queue("alpha").getFailed()).find((job) => job.id === batchId));
  assert.equal(delivery.attempts.length, 3, "max_backoff_retries attempts, paused or not");
  assert.deepEqual(batchJobData.parse(failed.data).failure, httpFailure(500, "boom"));
});

test("a pause that uses an attempt reports each profile left once, as retrying", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"], { maxBackoffRetries: 3 });
  await flush(h, 2);
  const reported = { paused: 0, retrying: 0 };
  const delivery = scriptedDelivery(() => ({ retry: httpFailure(503, "busy"), pauseMs: 20, pauseUsesAttempt: true }));
  h.worker("alpha", delivery, {
    observer: {
      paused: ({ profiles }) => (reported.paused += profiles),
      retrying: ({ profiles }) => (reported.retrying += profiles),
    },
  });
  await pollUntil("the batch to fail", async () => (await h.queue("alpha").getFailedCount()) === 1);
  assert.equal(delivery.attempts.length, 3);
  // The writer counts both hooks in pyroscope_write_retries_total.
  assert.deepEqual(reported, { paused: 0, retrying: 4 }, "two profiles retried twice, each counted once");
});

test("a pause met on the last attempt pauses the target's queue all the same, while the batch fails", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"], { maxBackoffRetries: 1 });
  const batchId = await flush(h, 1);
  const paused: { pauseMs: number; profiles: number }[] = [];
  const delivery = scriptedDelivery(() => ({ retry: httpFailure(429, "slow down"), pauseMs: 30_000, pauseUsesAttempt: true }));
  h.worker("alpha", delivery, { observer: { paused: ({ pauseMs, profiles }) => paused.push({ pauseMs, profiles }) } });
  // Split off into a job that, as any, waits for the pause before it is listed failed.
  const failed = await pollUntil("the batch to fail", async () => (await h.queue("alpha").getJob(batchId))?.data);
  assert.deepEqual(batchJobData.parse(failed).failure, httpFailure(429, "slow down"));
  const left = await h.connection.pttl(`${h.prefix}:${queueNameFor("alpha", 0)}:limiter`);
  assert.ok(left > 25_000, `the target's other batches wait for the pause, ${left} ms left`);
  assert.deepEqual(paused, [{ pauseMs: 30_000, profiles: 0 }], "none of the batch's profiles wait for it: they failed");
});

test("a target that asks every request for a pause: each profile is sent max_backoff_retries times before it fails, none fails unsent", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"], { maxBackoffRetries: 3 });
  const batchId = await flush(h, 40);
  const slow = httpFailure(429, "slow down");
  const sends = new Map<string, number>();
  // Two requests in flight, as a target's delivery with a concurrency of 2: each attempt sends two
  // profiles, then the pause stops it.
  const delivery = scriptedDelivery(
    (query) => {
      sends.set(query, (sends.get(query) ?? 0) + 1);
      return { retry: slow, pauseMs: 1, pauseUsesAttempt: true };
    },
    { concurrency: 2 },
  );
  let retrying = 0;
  h.worker("alpha", delivery, { observer: { retrying: ({ profiles }) => (retrying += profiles) } });
  const failed = await pollUntil("every profile to be listed failed", async () => {
    const jobs = await h.queue("alpha").getFailed();
    return jobs.reduce((sum, job) => sum + batchJobData.parse(job.data).profiles.length, 0) === 40 ? jobs : undefined;
  });
  for (const job of failed) assert.deepEqual(batchJobData.parse(job.data).failure, slow);
  assert.equal(sends.size, 40, "every profile was sent");
  assert.deepEqual(new Set(sends.values()), new Set([3]), "each exactly max_backoff_retries times");
  assert.equal(await h.queue("alpha").getJob(drainJobId(batchId)), undefined, "the drain job completed");
  // Attempts that left profiles unsent went back without using one; only the last two profiles, sent
  // together, used the job's attempts (reported as retrying) before their third try failed them.
  assert.equal(retrying, 4);
});

test("a target that rate-limits some requests for a while then takes them all: everything is delivered, nothing fails", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"], { maxBackoffRetries: 3 });
  const batchId = await flush(h, 40);
  let sent = 0;
  // Every third of the first 30 requests is refused with a pause: more paused attempts than
  // max_backoff_retries, but no profile refused more than once.
  const delivery = scriptedDelivery(
    () => (++sent % 3 === 0 && sent <= 30 ? { retry: httpFailure(429, "slow down"), pauseMs: 1, pauseUsesAttempt: true } : "deliver"),
    { concurrency: 2 },
  );
  let failed = 0;
  h.worker("alpha", delivery, { observer: { failed: ({ profiles }) => (failed += profiles) } });
  await pollUntil("the batch to complete", async () => (await h.queue("alpha").getJob(drainJobId(batchId))) === undefined);
  assert.equal(failed, 0);
  assert.equal(await h.queue("alpha").getFailedCount(), 0);
  assert.ok(delivery.attempts.length > 3, `${delivery.attempts.length} attempts`);
  assert.equal(await h.connection.hget(new TargetBacklog(h.connection, h.prefix, "alpha").totalsKey, "delivered_profiles"), "40");
});

test("close() hands an active batch back to waiting after the grace period, with what it delivered", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const batchId = await flush(h, 3);
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const sent: string[] = [];
  const worker = h.worker(
    "alpha",
    {
      attempts: [],
      deliver: async (profiles, report, signal) => {
        for (const { ref } of profiles) {
          if (ref.kind === "ingest" && ref.query === "n=2") {
            await Promise.race([held, new Promise((resolve) => signal.addEventListener("abort", resolve))]);
            return {};
          }
          sent.push(ref.kind === "ingest" ? ref.query : "");
          report.delivered(ref.index, [0]);
        }
        return {};
      },
    },
    { shutdownGraceMs: 200 },
  );
  await pollUntil("two deliveries", async () => sent.length === 2);
  await worker.close();
  release();
  const job = (await h.queue("alpha").getJob(drainJobId(batchId)))!;
  assert.equal(await job.getState(), "waiting");
  assert.equal(job.attemptsMade, 0, "without using an attempt");
  assert.deepEqual(job.progress, { done: "0-1" }, "another writer sends only the rest");
});

test("close() with Redis not answering: handing back and the pending bookkeeping share one bound after the grace", { timeout: 60_000 }, async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  await flush(h, 2);
  let finish: () => void = () => undefined;
  const finishing = new Promise<void>((resolve) => (finish = resolve));
  let delivered = false;
  const errors: string[] = [];
  const worker = h.worker(
    "alpha",
    {
      attempts: [],
      deliver: async (profiles, report) => {
        for (const { ref } of profiles) report.delivered(ref.index, [0]);
        delivered = true;
        await finishing;
        return {};
      },
    },
    // No progress save on the wire when Redis freezes: one would hold the attempt's end, and the release with it.
    { shutdownGraceMs: 200, progressIntervalMs: 60_000, observer: { error: (error, context) => errors.push(`${context}: ${(error as Error).message}`) } },
  );
  await pollUntil("the batch to be delivered", () => delivered);
  // The job completes while Redis answers nothing (a frozen host): its release (bookkeeping) and
  // BullMQ's completion both wait.
  const pid = Number(/process_id:(\d+)/.exec(await h.connection.info("server"))?.[1]);
  process.kill(pid, "SIGSTOP");
  try {
    finish();
    await sleep(100);
    const started = Date.now();
    await worker.close();
    const took = Date.now() - started;
    t.diagnostic(`closed after ${took} ms`);
    assert.ok(took < 200 + HAND_BACK_MS + 1_500, `closed after ${took} ms: within the grace and one HAND_BACK_MS, not one for each`);
  } finally {
    process.kill(pid, "SIGCONT");
  }
  assert.ok(
    errors.some((error) => /^shutdown: could not hand active jobs back/.test(error)),
    errors.join("\n"),
  );
  assert.ok(
    errors.some((error) => /^shutdown: bookkeeping still pending/.test(error)),
    errors.join("\n"),
  );
});

test("a batch job (of an earlier version) whose data says it failed is failed again at once and settles its batch", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const batchId = await flush(h, 1);
  // What an earlier version stored for the flush: a batch job named after the batch, counted in.
  await (await h.queue("alpha").getJob(drainJobId(batchId)))!.remove();
  const [segment] = await new PendingSegments(h.connection, h.prefix, "alpha").list();
  await h.connection.del(new PendingSegments(h.connection, h.prefix, "alpha").key);
  await h.queue("alpha").add("batch", { ...segment!, failure: httpFailure(400, "decided before a crash") }, batchJobOptions(batchId, 3));
  await h.connection.hset(h.queue("alpha").toKey(batchId), "backlog", "1:9");
  const delivery = scriptedDelivery(() => "deliver");
  h.worker("alpha", delivery);
  const failed = await pollUntil("the job to fail", async () => (await h.queue("alpha").getFailed())[0]);
  assert.equal(failed.failedReason, "http 400: decided before a crash");
  assert.deepEqual(delivery.attempts, []);
  assert.deepEqual(await h.connection.smembers(batchClaimsKey(h.prefix, batchId)), [], "its claim on the batch is released");
  assert.deepEqual(await new TargetBacklog(h.connection, h.prefix, "alpha").read(), { profiles: 0, bytes: 0 });
});

test("a replayed batch that stalled too often fails for good when a writer next takes it: kept for the failed TTL, out of the backlog", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [batchId] = await h.fail("alpha", [httpFailure(400, "first")]);
  assert.deepEqual(await replayFailed({ connection: h.connection, prefix: h.prefix, target: "alpha", payloadTtlMs: PAYLOAD_TTL_MS }), {
    replayed: 1,
    replayedProfiles: 1,
    skipped: 0,
    notMatched: 0,
  });
  // What BullMQ's stalled-job check does to a job past its stall limit: back to waiting, with a
  // failure the next worker to take it applies without running it.
  await h.connection.hset(h.queue("alpha").toKey(batchId!), "defa", "job stalled more than allowable limit");
  const delivery = scriptedDelivery(() => "deliver");
  h.worker("alpha", delivery);
  const failed = await pollUntil("the batch to fail again", async () => {
    const job = (await h.queue("alpha").getFailed())[0];
    return job !== undefined && batchJobData.parse(job.data).failure !== undefined ? job : undefined;
  });
  assert.deepEqual(batchJobData.parse(failed.data).failure, { reason: "stalled", detail: "job stalled more than allowable limit" });
  assert.deepEqual(delivery.attempts, []);
  assert.ok((await h.connection.pttl(detachedProfileKey(h.prefix, batchId!, 0))) > PAYLOAD_TTL_MS, "its copy lives as long as a failed batch's");
  await pollUntil("the backlog to empty", async () => (await new TargetBacklog(h.connection, h.prefix, "alpha").read()).profiles === 0);
});

test("an attempt that ends in an error of ours keeps what it delivered: the split-off after BullMQ fails the job holds only the rest", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"], { maxBackoffRetries: 1 });
  const batchId = await flush(h, 3);
  const attempts: number[][] = [];
  h.worker("alpha", {
    attempts: [],
    deliver: async (profiles, report) => {
      attempts.push(profiles.map(({ ref }) => ref.index));
      report.delivered(profiles[0]!.ref.index, [0]);
      // Within the recorder's interval: only the save at the attempt's end records profile 0.
      throw new Error("a bug in a delivery");
    },
  });
  const failed = await pollUntil("the batch's failed job", async () => (await h.queue("alpha").getFailed()).find((job) => job.id === batchId));
  assert.deepEqual(attempts, [[0, 1, 2]], "its only attempt");
  assert.deepEqual(
    batchJobData.parse(failed.data).profiles.map((ref) => ref.index),
    [1, 2],
    "the profile it delivered is not listed failed, nor sent again by a replay",
  );
  await pollUntil("the drain job to go", async () => (await h.queue("alpha").getJob(drainJobId(batchId))) === undefined);
  const [state] = await readTargetStates(h.connection, h.prefix, ["alpha"]);
  assert.equal(state!.deliveredProfiles, 1);
});

test("a last attempt that ends in an error of ours lists what failed for good in it with its own reason, the rest with the error", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"], { maxBackoffRetries: 1 });
  const batchId = await flush(h, 3);
  h.worker("alpha", {
    attempts: [],
    deliver: async (profiles, report) => {
      report.delivered(profiles[0]!.ref.index, [0]);
      report.failed(profiles[1]!.ref.index, [0], httpFailure(400, "bad profile"));
      throw new Error("a bug in a delivery");
    },
  });
  await pollUntil("the drain job to go", async () => (await h.queue("alpha").getJob(drainJobId(batchId))) === undefined);
  const failed = (await h.queue("alpha").getFailed()).map((job) => batchJobData.parse(job.data));
  assert.deepEqual(failed.map((data) => [data.failure?.reason, data.profiles.map((ref) => ref.index)]).sort(), [
    ["error", [2]],
    ["http 400", [1]],
  ]);
});

test("a job whose data is no batch fails at once as an invalid job saying what is wrong, and delivers nothing", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  // Data of another shape than a batch's (typed as one only to be added).
  await h.queue("alpha").add("batch", { batchId: "b-1", profiles: "not a list" } as unknown as BatchJobData, batchJobOptions("b-1", 3));
  const delivery = scriptedDelivery(() => "deliver");
  h.worker("alpha", delivery);
  const failed = await pollUntil("the job to fail", async () => (await h.queue("alpha").getFailed())[0]);
  t.diagnostic(failed.failedReason);
  assert.match(failed.failedReason, /^invalid job: .*profiles: Invalid input: expected array, received string/);
  assert.equal(failed.attemptsMade, 1, "not retried");
  assert.deepEqual(delivery.attempts, []);
});

test("flushes that wait for the target are claimed by one drain job: one attempt delivers them all", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const batches = [];
  for (let i = 0; i < 3; i++) batches.push((await h.enqueuer.enqueue(Buffer.from(`flush ${i}`), ingestFacts(`n=${i}`), ["alpha"])).batchId);
  assert.deepEqual(
    (await h.queue("alpha").getJobs(["waiting", "delayed"])).map((job) => job.id),
    [drainJobId(batches[0])],
    "the later flushes' drain jobs were deduplicated",
  );
  const delivery = scriptedDelivery(() => "deliver");
  h.worker("alpha", delivery);
  await pollUntil("every batch to go", async () => (await h.connection.keys(`${h.prefix}:batch:*`)).length === 0);
  assert.deepEqual(delivery.attempts, [["n=0", "n=1", "n=2"]]);
  assert.deepEqual(await new PendingSegments(h.connection, h.prefix, "alpha").list(), []);
  assert.deepEqual(await new TargetBacklog(h.connection, h.prefix, "alpha").read(), { profiles: 0, bytes: 0 });
  await pollUntil("the drain job to go", async () => (await h.queue("alpha").getJobCounts("waiting", "active", "completed", "failed")).active === 0);
  assert.deepEqual(await h.queue("alpha").getJobCounts("waiting", "active", "completed", "failed"), { waiting: 0, active: 0, completed: 0, failed: 0 });
});

test("with a claim delay, a drain job claims only once it is that old: the flushes stored meanwhile go out in its claim", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const delivery = scriptedDelivery(() => "deliver");
  h.worker("alpha", delivery, { claimDelayMs: 2_000 });
  // The worker is running and idle: it takes the next drain job as soon as a flush adds it.
  await h.enqueuer.enqueue(Buffer.from("warm"), ingestFacts("n=warm"), ["alpha"]);
  await pollUntil("the first delivery", async () => delivery.attempts.length === 1, { timeoutMs: 15_000 });
  const added = Date.now();
  await h.enqueuer.enqueue(Buffer.from("first"), ingestFacts("n=first"), ["alpha"]);
  await sleep(100);
  await h.enqueuer.enqueue(Buffer.from("second"), ingestFacts("n=second"), ["alpha"]);
  await pollUntil("the second delivery", async () => delivery.attempts.length === 2, { timeoutMs: 15_000 });
  assert.ok(Date.now() - added >= 2_000, "not before the delay");
  await sleep(100);
  assert.deepEqual(delivery.attempts, [["n=warm"], ["n=first", "n=second"]]);
});

test("shutdown cuts a claim delay short: the drain job claims and delivers at once", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const delivery = scriptedDelivery(() => "deliver");
  const worker = h.worker("alpha", delivery, { claimDelayMs: 5_000 });
  const { batchId } = await h.enqueuer.enqueue(Buffer.from("one"), ingestFacts("n=one"), ["alpha"]);
  await pollUntil("the drain job to start", async () => (await h.queue("alpha").getJob(drainJobId(batchId)))?.processedOn !== undefined);
  const closing = Date.now();
  await worker.close();
  assert.ok(Date.now() - closing < 2_000, `close() took ${Date.now() - closing} ms`);
  assert.deepEqual(delivery.attempts, [["n=one"]]);
  assert.deepEqual(await new PendingSegments(h.connection, h.prefix, "alpha").list(), []);
});

test("flushes stored while a drain job delivers go out together in the next one", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const attempts: string[][] = [];
  h.worker("alpha", {
    attempts,
    deliver: async (profiles, report) => {
      attempts.push(profiles.map(({ ref }) => (ref.kind === "ingest" ? ref.query : "")));
      if (attempts.length === 1) await held;
      for (const { ref } of profiles) report.delivered(ref.index, [0]);
      return {};
    },
  });
  await h.enqueuer.enqueue(Buffer.from("first"), ingestFacts("n=first"), ["alpha"]);
  await pollUntil("the first delivery", async () => attempts.length === 1);
  await h.enqueuer.enqueue(Buffer.from("second"), ingestFacts("n=second"), ["alpha"]);
  await h.enqueuer.enqueue(Buffer.from("third"), ingestFacts("n=third"), ["alpha"]);
  release();
  await pollUntil("the later flushes", async () => attempts.length === 2);
  assert.deepEqual(attempts, [["n=first"], ["n=second", "n=third"]]);
});

test("a drain job waiting for its retry holds back no later flush, and retries only what it claimed", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  let tries = 0;
  const delivery = scriptedDelivery((query) => (query === "n=first" && tries++ === 0 ? { retry: httpFailure(503, "busy") } : "deliver"));
  h.worker("alpha", delivery, { backoffMs: () => 500 });
  const first = await h.enqueuer.enqueue(Buffer.from("first"), ingestFacts("n=first"), ["alpha"]);
  await pollUntil(
    "the first attempt",
    async () => delivery.attempts.length === 1 && (await h.queue("alpha").getJobState(drainJobId(first.batchId))) === "delayed",
  );
  await h.enqueuer.enqueue(Buffer.from("second"), ingestFacts("n=second"), ["alpha"]);
  await pollUntil("both delivered", async () => delivery.attempts.length === 3);
  assert.deepEqual(delivery.attempts, [["n=first"], ["n=second"], ["n=first"]]);
  await pollUntil("the backlog to empty", async () => (await new TargetBacklog(h.connection, h.prefix, "alpha").read()).profiles === 0);
});

test("a drain job whose claim fails lets go of the deduplication: later flushes go out while it waits for its retry", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const delivery = scriptedDelivery(() => "deliver");
  const pending = new PendingSegments(h.connection, h.prefix, "alpha");
  const first = await h.enqueuer.enqueue(Buffer.from("first"), ingestFacts("n=first"), ["alpha"]);
  // The claim meets an error of Redis' (a key of the wrong type, as an error mid-failover would):
  // the job's segments are set aside meanwhile, then put back.
  await h.connection.rename(pending.key, `${pending.key}:aside`);
  await h.connection.set(pending.key, "not a list");
  h.worker("alpha", delivery, { backoffMs: () => 60_000 });
  await pollUntil("the claim's failure", async () => (await h.queue("alpha").getJobState(drainJobId(first.batchId))) === "delayed");
  await h.connection.rename(`${pending.key}:aside`, pending.key);
  await h.enqueuer.enqueue(Buffer.from("second"), ingestFacts("n=second"), ["alpha"]);
  await pollUntil("both delivered by a drain job of the later flush", async () => delivery.attempts.length === 1);
  assert.deepEqual(delivery.attempts, [["n=first", "n=second"]]);
  assert.equal(await h.queue("alpha").getJobState(drainJobId(first.batchId)), "delayed", "the first job waits for its retry");
});

test("a request still in flight holds back no later flush once its job has sent everything", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const attempts: string[][] = [];
  h.worker(
    "alpha",
    {
      attempts,
      deliver: async (profiles, report) => {
        attempts.push(profiles.map(({ ref }) => (ref.kind === "ingest" ? ref.query : "")));
        report.dispatched();
        if (attempts.length === 1) await held;
        for (const { ref } of profiles) report.delivered(ref.index, [0]);
        return {};
      },
    },
    { concurrency: 2 },
  );
  await h.enqueuer.enqueue(Buffer.from("slow"), ingestFacts("n=slow"), ["alpha"]);
  await pollUntil("the slow delivery", async () => attempts.length === 1);
  await h.enqueuer.enqueue(Buffer.from("next"), ingestFacts("n=next"), ["alpha"]);
  await pollUntil("the next flush, while the slow one is held", async () => attempts.length === 2);
  release();
  assert.deepEqual(attempts, [["n=slow"], ["n=next"]]);
  await pollUntil("the backlog to empty", async () => (await new TargetBacklog(h.connection, h.prefix, "alpha").read()).profiles === 0);
});

test("failures of a drain job over several batches: one failed job per batch, named after it; the rest is delivered", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const flushes = [];
  for (let i = 0; i < 3; i++) {
    flushes.push(await Promise.all([0, 1].map((j) => h.enqueuer.enqueue(Buffer.from(`b${i} p${j}`), ingestFacts(`n=${i}.${j}`), ["alpha"]))));
  }
  const [b0, b1, b2] = flushes.map((results) => results[0]!.batchId) as [string, string, string];
  const poison = httpFailure(400, "poison");
  const delivery = scriptedDelivery((query) => (query === "n=0.1" || query === "n=2.0" ? { fail: poison } : "deliver"));
  h.worker("alpha", delivery);
  await pollUntil("two failed jobs", async () => (await h.queue("alpha").getFailedCount()) === 2);
  assert.equal(delivery.attempts.length, 1, "one drain job");
  const failed = await h.queue("alpha").getFailed();
  assert.deepEqual(failed.map((job) => job.id).sort(), [b0, b2].sort());
  for (const [batch, index, bytes] of [
    [b0, 1, "b0 p1"],
    [b2, 0, "b2 p0"],
  ] as const) {
    const data = batchJobData.parse(failed.find((job) => job.id === batch)!.data);
    assert.deepEqual(
      data.profiles.map((ref) => ref.index),
      [index],
    );
    assert.equal((await h.connection.getBuffer(detachedProfileKey(h.prefix, batch, index)))?.toString(), bytes, "a copy of its own");
  }
  await pollUntil("every batch's chunks to go", async () => (await h.connection.keys(`${h.prefix}:batch:*:chunk:*`)).length === 0);
  assert.equal(await h.connection.exists(chunkKey(h.prefix, b1, 0)), 0);
  assert.deepEqual(await new TargetBacklog(h.connection, h.prefix, "alpha").read(), { profiles: 0, bytes: 0 });
});

test("a batch that fails in two groups keeps both: the failed job named after it holds nothing of the drain job's", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  // Twenty flushes of two profiles: every first profile fails one way (the larger group, split off
  // first, into jobs named after their batches, which a free slot settles while the drain job goes
  // on), the first batch's second another way (split off last, from the same batch).
  const batches: string[] = [];
  for (let i = 0; i < 20; i++) {
    const results = await Promise.all([0, 1].map((j) => h.enqueuer.enqueue(Buffer.from(`b${i} p${j}`), ingestFacts(`n=${i}.${j}`), ["alpha"])));
    batches.push(results[0]!.batchId);
  }
  const delivery = scriptedDelivery((query) => {
    if (query.endsWith(".0")) return { fail: httpFailure(400, "first") };
    return query === "n=0.1" ? { fail: httpFailure(400, "second") } : "deliver";
  });
  h.worker("alpha", delivery, { concurrency: 4 });
  await pollUntil("21 failed jobs", async () => (await h.queue("alpha").getFailedCount()) === 21);
  const failed = await h.queue("alpha").getFailed(0, -1);
  const first = batches[0]!;
  assert.deepEqual(failed.map((job) => job.id).sort(), [...batches, `${first}.1.0`].sort());
  for (const job of failed) {
    const { batch, profiles } = batchJobData.parse(job.data);
    for (const ref of profiles) {
      const copy = await h.connection.getBuffer(detachedProfileKey(h.prefix, batch, ref.index));
      assert.equal(copy?.toString(), `b${batches.indexOf(batch)} p${ref.index}`, `failed job ${job.id} keeps a copy of profile ${ref.index}`);
    }
  }
  await pollUntil("every batch's chunks to go", async () => (await h.connection.keys(`${h.prefix}:batch:*:chunk:*`)).length === 0);
  assert.deepEqual(await new TargetBacklog(h.connection, h.prefix, "alpha").read(), { profiles: 0, bytes: 0 });
});

/**
 * A writer that takes the shard's drain job and claims it, as `writer-crash` tests need: the job, what
 * it claimed and the lifecycle it used; `die()` closes its connection (after the test moved the job on).
 */
async function deadWriterClaims(t: TestContext, h: QueueHarness) {
  const connection = createRedisConnection(server.url, "worker");
  const dead = new Worker(h.queue("alpha").name, null, { connection, prefix: h.prefix, autorun: false });
  // Also when an assertion fails first: an open connection would hold the test file.
  t.after(async () => {
    await dead.close();
    connection.disconnect();
  });
  const job = (await dead.getNextJob("dead-writer")) as BatchJob | undefined;
  assert.ok(job !== undefined, "the drain job waits");
  const lifecycle = new JobLifecycle({ connection: h.connection, prefix: h.prefix, target: "alpha" });
  const work = JobWork.ofDrain((await lifecycle.claim(job))!.claimed);
  return {
    job,
    lifecycle,
    work,
    async die() {
      await dead.close();
      connection.disconnect();
    },
  };
}

test("a drain job BullMQ failed that no writer split off (it died first) is split off by the next writer as it starts", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const batchId = await flush(h, 3);
  const jobId = drainJobId(batchId);
  const queue = h.queue("alpha");
  // A writer takes the drain job, claims, and BullMQ fails the job: the writer dies before its
  // failed event splits anything off.
  const dead = await deadWriterClaims(t, h);
  assert.equal(dead.job.id, jobId);
  await dead.job.moveToFailed(new UnrecoverableError("job stalled more than allowable limit"), "dead-writer");
  await dead.die();
  assert.equal(await queue.getJobState(jobId), "failed");

  const delivery = scriptedDelivery(() => "deliver");
  h.worker("alpha", delivery);
  const failed = await pollUntil("the batch's failed job", async () => (await queue.getFailed()).find((failedJob) => failedJob.id === batchId));
  const data = batchJobData.parse(failed.data);
  assert.deepEqual(data.failure, { reason: "stalled", detail: "job stalled more than allowable limit" });
  for (const index of [0, 1, 2]) assert.equal((await h.connection.getBuffer(detachedProfileKey(h.prefix, batchId, index)))?.toString(), `profile ${index}`);
  await pollUntil("the drain job to go", async () => (await queue.getJob(jobId)) === undefined);
  assert.equal(await h.connection.exists(chunkKey(h.prefix, batchId, 0)), 0, "the claim on the batch is released");
  assert.deepEqual(await new TargetBacklog(h.connection, h.prefix, "alpha").read(), { profiles: 0, bytes: 0 });
  assert.deepEqual(delivery.attempts, [], "a failed job's profiles wait for a replay");
});

test("a drain job BullMQ failed after delivering part of its claim counts that part delivered; the rest is split off", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const batchId = await flush(h, 3);
  const queue = h.queue("alpha");
  const dead = await deadWriterClaims(t, h);
  // It delivered profiles 0 and 1 and saved that, then stalled once too often.
  const progress = BatchProgress.restore(dead.work.profiles, undefined);
  progress.delivered(0, [0]);
  progress.delivered(1, [0]);
  await dead.job.updateProgress(progress.toJSON());
  await dead.job.moveToFailed(new UnrecoverableError("job stalled more than allowable limit"), "dead-writer");
  await dead.die();

  h.worker(
    "alpha",
    scriptedDelivery(() => "deliver"),
  );
  const failed = await pollUntil("the batch's failed job", async () => (await queue.getFailed()).find((failedJob) => failedJob.id === batchId));
  assert.deepEqual(
    batchJobData.parse(failed.data).profiles.map((ref) => ref.index),
    [2],
  );
  await pollUntil("the drain job to go", async () => (await queue.getJob(drainJobId(batchId))) === undefined);
  const [state] = await readTargetStates(h.connection, h.prefix, ["alpha"]);
  assert.equal(state!.deliveredProfiles, 2, "the two it delivered count, the one split off does not");
});

test("a batch whose references go between two attempts of its drain job: the progress saved still names the other batches' profiles", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const first = (await h.enqueuer.enqueue(Buffer.from("first"), ingestFacts("n=first"), ["alpha"])).batchId;
  await Promise.all(["n=second.0", "n=second.1"].map((query) => h.enqueuer.enqueue(Buffer.from(query), ingestFacts(query), ["alpha"])));
  let attempts = 0;
  const delivery = scriptedDelivery((query) => {
    if (query === "n=first") return "deliver";
    attempts++;
    return attempts <= 2 ? { retry: httpFailure(503, "busy") } : "deliver";
  });
  const lost: { jobId: string; batches: { batch: string; profiles: number }[] }[] = [];
  h.worker("alpha", delivery, { backoffMs: () => 1_000, observer: { lost: (event) => lost.push(event) } });
  await pollUntil("the first attempt", async () => delivery.attempts.length >= 1);
  // The first batch went out and its drain job's progress says so; then its references go (a drain
  // job whose claim a failover lost delivered it and let go of it).
  await h.connection.del(batchRefsKey(h.prefix, first), batchClaimsKey(h.prefix, first));
  await pollUntil("the second batch's profiles", async () => delivery.attempts.flat().filter((query) => query.startsWith("n=second")).length >= 4);
  await pollUntil("the drain job to go", async () => (await h.queue("alpha").getJob(drainJobId(first))) === undefined);
  assert.deepEqual(
    delivery.attempts.slice(1).map((attempt) => attempt.sort()),
    [["n=second.0", "n=second.1"]],
    "the retry sends the second batch, not taken for delivered",
  );
  const [state] = await readTargetStates(h.connection, h.prefix, ["alpha"]);
  assert.equal(state!.deliveredProfiles, 2, "what it delivered after the loss counts; the lost batch does not");
  assert.deepEqual(lost, [{ jobId: drainJobId(first), batches: [{ batch: first, profiles: 1 }] }], "reported once, at the job's end");
});

test("a drain job BullMQ failed with a batch whose references are gone splits off the rest and counts none delivered", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const gone = (await h.enqueuer.enqueue(Buffer.from("gone"), ingestFacts("n=gone"), ["alpha"])).batchId;
  const kept = (await h.enqueuer.enqueue(Buffer.from("kept"), ingestFacts("n=kept"), ["alpha"])).batchId;
  const queue = h.queue("alpha");
  const dead = await deadWriterClaims(t, h);
  await dead.job.moveToFailed(new UnrecoverableError("job stalled more than allowable limit"), "dead-writer");
  await dead.die();
  await h.connection.del(batchRefsKey(h.prefix, gone), batchClaimsKey(h.prefix, gone));

  const lost: { jobId: string; batches: { batch: string; profiles: number }[] }[] = [];
  h.worker(
    "alpha",
    scriptedDelivery(() => "deliver"),
    { observer: { lost: (event) => lost.push(event) } },
  );
  const failed = await pollUntil("the kept batch's failed job", async () => (await queue.getFailed()).find((failedJob) => failedJob.id === kept));
  assert.deepEqual(
    batchJobData.parse(failed.data).profiles.map((ref) => ref.kind === "ingest" && ref.query),
    ["n=kept"],
  );
  await pollUntil("the drain job to go", async () => (await queue.getJob(drainJobId(gone))) === undefined);
  const [state] = await readTargetStates(h.connection, h.prefix, ["alpha"]);
  assert.equal(state!.deliveredProfiles, 0);
  assert.deepEqual(await new TargetBacklog(h.connection, h.prefix, "alpha").read(), { profiles: 0, bytes: 0 }, "nothing waits");
  assert.deepEqual(lost, [{ jobId: drainJobId(gone), batches: [{ batch: gone, profiles: 1 }] }]);
});

test("a drain job whose completion ran but not BullMQ's (a crash, a lost lock) completes when run again, delivering nothing", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const batchId = await flush(h, 3);
  const jobId = drainJobId(batchId);
  const queue = h.queue("alpha");
  const dead = await deadWriterClaims(t, h);
  // Delivered all three: released and counted out; then the writer lost the job before BullMQ completed it.
  await dead.lifecycle.complete(dead.job, dead.work);
  assert.equal(await h.connection.exists(chunkKey(h.prefix, batchId, 0)), 0, "the batch is released");
  await dead.job.moveToWait("dead-writer");
  await dead.die();

  const errors: unknown[] = [];
  const delivery = scriptedDelivery(() => "deliver");
  h.worker("alpha", delivery, { observer: { error: (error) => errors.push(error) } });
  await pollUntil("the drain job to complete", async () => (await queue.getJob(jobId)) === undefined);
  assert.deepEqual(delivery.attempts, [], "nothing sent again");
  assert.deepEqual(await queue.getFailed(), [], "nothing listed failed");
  assert.deepEqual(errors, []);
  const [state] = await readTargetStates(h.connection, h.prefix, ["alpha"]);
  assert.equal(state!.deliveredProfiles, 3, "counted delivered once");
});

test("a split cut short and done again with other groups keeps every profile: a name taken by other profiles is not reused", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const batchId = await flush(h, 3);
  const jobId = drainJobId(batchId);
  const queue = h.queue("alpha");
  // A writer's last attempt split profile 1 off (503s till the end) into the failed job named after
  // the batch, then a Redis error (or a crash) cut the rest short, and BullMQ failed the drain job.
  const { job, lifecycle, work, die } = await deadWriterClaims(t, h);
  assert.equal(job.id, jobId);
  const splitOne = () => lifecycle.splitOff(job, work, { failure: httpFailure(503, "busy"), refs: [work.profiles[1]!] }, FAILED_TTL_MS, new Set());
  assert.deepEqual(
    (await splitOne()).map((split) => split.id),
    [batchId],
  );
  assert.deepEqual(await splitOne(), [], "the same split again adds nothing: the batch's job holds it");
  await job.moveToFailed(new UnrecoverableError("OOM command not allowed when used memory > 'maxmemory'"), "dead-writer");
  await die();

  // The next writer splits off all three (nothing was saved as delivered): the batch's name is taken.
  h.worker(
    "alpha",
    scriptedDelivery(() => "deliver"),
  );
  await pollUntil("the drain job to go", async () => (await queue.getJob(jobId)) === undefined);
  const failed = await queue.getFailed();
  const held = failed.flatMap((failedJob) => batchJobData.parse(failedJob.data).profiles.map((ref) => ref.index));
  assert.deepEqual(held.sort(), [0, 1, 2], `every profile is in one failed job: ${failed.map((f) => f.id).join(", ")}`);
  const resplit = failed.find((failedJob) => failedJob.id !== batchId);
  assert.match(resplit?.id ?? "", new RegExp(`^${batchId}\\.[0-9a-f]{16}$`), "named after its profiles");
  assert.deepEqual(
    batchJobData.parse(resplit!.data).profiles.map((ref) => ref.index),
    [0, 2],
    "what the batch's job does not hold already",
  );
  for (const index of [0, 2]) {
    assert.ok((await h.connection.smembers(detachedClaimsKey(h.prefix, batchId, index))).includes(`${resplit!.id}@alpha`), `profile ${index}'s copy is held`);
  }
});

test("a split whose name another writer takes at the same moment (a lock lost) is added under a name of its own", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const batchId = await flush(h, 3);
  const { job, lifecycle, work } = await deadWriterClaims(t, h);
  const add = lifecycle.queue.add.bind(lifecycle.queue);
  let raced = false;
  t.mock.method(lifecycle.queue, "add", async (...args: Parameters<typeof add>) => {
    if (!raced) {
      raced = true;
      // The other writer's split of profile 0, under the batch's name, lands first.
      const [name, data, options] = args;
      await add(name, { ...data, profiles: [work.profiles[0]!], failure: httpFailure(400, "other") }, options);
    }
    return add(...args);
  });
  const splits = await lifecycle.splitOff(job, work, { failure: httpFailure(503, "busy"), refs: [work.profiles[1]!] }, FAILED_TTL_MS, new Set());

  assert.equal(splits.length, 1);
  assert.match(splits[0]!.id, new RegExp(`^${batchId}\\.[0-9a-f]{16}$`), "named after its profiles");
  const held = batchJobData.parse((await h.queue("alpha").getJob(splits[0]!.id))!.data);
  assert.deepEqual(
    held.profiles.map((ref) => ref.index),
    [1],
  );
  assert.deepEqual(held.failure, httpFailure(503, "busy"));
  assert.ok((await h.connection.smembers(detachedClaimsKey(h.prefix, batchId, 1))).includes(`${splits[0]!.id}@alpha`), "its copy is held");
});

test("a drain job whose claim cannot be read back delivers none of it, fails, stays failed with its claim, and is listed for purge", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const seen = new Set<string>();
  // Every profile is sent back once: the first attempt claims, then waits for its retry.
  const delivery = scriptedDelivery((query) => {
    if (seen.has(query)) return "deliver";
    seen.add(query);
    return { retry: httpFailure(503, "busy") };
  });
  const errors: unknown[] = [];
  h.worker("alpha", delivery, { backoffMs: () => 300, observer: { error: (error) => errors.push(error) } });
  const batchId = await flush(h, 3);
  const jobId = drainJobId(batchId);
  const queue = h.queue("alpha");
  await pollUntil("the first attempt", async () => delivery.attempts.length === 1 && (await queue.getJobState(jobId)) === "delayed");
  await h.connection.hdel(queue.toKey(jobId), "segment:1");
  await pollUntil("the job to fail", async () => (await queue.getJobState(jobId)) === "failed");
  await pollUntil("the writer to give up on it", async () => errors.length > 0);
  assert.ok(errors[0] instanceof UnreadableClaimError, String(errors[0]));
  assert.match(errors[0].message, new RegExp(`drain job ${jobId}: its claim cannot be read: segment:1 of 1 is missing`));
  assert.equal(delivery.attempts.length, 1, "nothing of the torn claim was sent");
  assert.deepEqual(await h.connection.hmget(queue.toKey(jobId), "claimed", "segments"), ["1", "1"], "the job keeps what it claimed");
  assert.equal(await h.connection.exists(chunkKey(h.prefix, batchId, 0)), 1, "and the payload its claim holds");

  // Marked in Redis: listed, not split off again by any writer's sweep, removed by a purge.
  await pollUntil("the job to be marked", async () => {
    const data = (await queue.getJob(jobId))?.data;
    return isDrain(data) && data.unreadable !== undefined;
  });
  const lifecycles = new TargetLifecycles({ connection: h.connection, prefix: h.prefix, target: "alpha" });
  t.after(() => lifecycles.close());
  const listed: FailedJob[][] = [];
  for await (const page of lifecycles.failed()) listed.push(page);
  assert.deepEqual(
    listed.flat().map(({ job, data, failure }) => [job.id, data, failure.reason]),
    [[jobId, undefined, UNREADABLE_CLAIM]],
  );
  assert.match(listed[0]![0]!.failure.detail, /segment:1 of 1 is missing/);
  assert.equal(await lifecycles.countFailed(), 1);
  // Its profiles are unknown, but not what it counted: they count as purged, in a dry run too.
  const dryRun = await purgeFailed({ connection: h.connection, prefix: h.prefix, target: "alpha", dryRun: true });
  assert.deepEqual(dryRun, { purged: 1, purgedProfiles: 3, payloadsDeleted: 0 });
  assert.deepEqual(await purgeFailed({ connection: h.connection, prefix: h.prefix, target: "alpha" }), { purged: 1, purgedProfiles: 3, payloadsDeleted: 0 });
  assert.equal(await h.connection.hget(new TargetBacklog(h.connection, h.prefix, "alpha").totalsKey, "discarded_profiles:purge"), "3");
  assert.equal(await queue.getJob(jobId), undefined);
  assert.ok((await h.connection.pttl(chunkKey(h.prefix, batchId, 0))) > 0, "the payload its claim held goes with its TTL");
});
