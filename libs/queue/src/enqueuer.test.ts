import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, test, type TestContext } from "node:test";
import type { TargetConfig } from "@pyroscope-relay/config";
import { commandCalls, startRedisServer, targetConfig, type RedisServerHandle } from "@pyroscope-relay/testing";
import type { Redis } from "ioredis";
import type { ProfileFacts } from "./batch-data.js";
import { drainJobId, UNBOUNDED_ATTEMPTS } from "./batch-job.js";
import { BatchStore } from "./batch-store.js";
import { DEFAULT_FLUSH_BOUNDS, type EnqueueResult, Enqueuer, type EnqueuerOptions, type FlushReport } from "./enqueuer.js";
import { BacklogFullError, InvalidTargetsError, QueueUnavailableError, ReplicationError } from "./errors.js";
import { batchClaimsKey, batchRefsKey, chunkKey, queueNameFor } from "./keys.js";
import { DRAIN_BOUNDS, PendingSegments } from "./pending-segments.js";
import { createRedisConnection, waitForRedis } from "./redis-connection.js";
import { TargetBacklog } from "./target-backlog.js";
import { TARGET_BACKOFF, targetQueue } from "./target-queue.js";
import { MAX_UNSENT_BYTES } from "./transaction.js";

const server = await startRedisServer();
const admin = createRedisConnection(server.url, "admin");
after(async () => {
  admin.disconnect();
  await server.stop();
});

const INGEST: ProfileFacts = {
  kind: "ingest",
  receivedAt: 1_700_000_000_000,
  tenant: "tenant-a",
  query: "name=app%7B%7D&format=pprof",
  contentTypes: ["application/octet-stream"],
};

/** A producer connection and an enqueuer under a prefix of their own, closed after the test. */
async function producer(t: TestContext, targets: TargetConfig[], options: Partial<EnqueuerOptions> = {}, redis: RedisServerHandle = server) {
  const prefix = `t-${randomUUID()}`;
  const connection = createRedisConnection(redis.url, "producer");
  connection.on("error", () => undefined);
  const enqueuer = new Enqueuer({ connection, prefix, payloadTtlMs: 3_600_000, targets, ...options });
  t.after(async () => {
    await enqueuer.close();
    connection.disconnect();
  });
  await waitForRedis(connection, 2_000);
  return { prefix, connection, enqueuer };
}

/** A redis-server of the test's own, which it may pause or stop, and an admin connection to it. */
async function ownRedis(t: TestContext) {
  const own = await startRedisServer();
  const ownAdmin = createRedisConnection(own.url, "admin");
  ownAdmin.on("error", () => undefined);
  t.after(async () => {
    ownAdmin.disconnect();
    await own.stop();
  });
  return { own, ownAdmin };
}

/** Every key under `prefix` but the queues' `meta` hashes, which a queue writes when it is created. */
/** The keys under `prefix` that hold profiles or jobs (not BullMQ's meta, nor the withdrawals remembered a while). */
async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  return (await redis.keys(`${prefix}:*`)).filter((key) => !key.endsWith(":meta") && !key.endsWith(":pending:withdrawn")).sort();
}

/** The target's jobs that wait, or wait to be taken (a drain job is delayed a little at first). */
async function waitingJobs(t: TestContext, prefix: string, name: string) {
  const queue = targetQueue(admin, prefix, name);
  t.after(() => queue.close());
  return (await queue.getJobs(["waiting", "delayed"])).reverse();
}

/** The segments waiting for `name`'s drain job, oldest first. */
function pendingOf(prefix: string, name: string, redis: Redis = admin) {
  return new PendingSegments(redis, prefix, name).list();
}

test("a flush of many concurrent requests stores each payload once, one segment and at most one job per target", async (t) => {
  const { prefix, enqueuer } = await producer(t, [targetConfig("alpha"), targetConfig("beta")]);
  const payloads = Array.from({ length: 40 }, (_, i) => randomBytes(1_000 + i * 997));
  const results = await Promise.all(payloads.map((payload, i) => enqueuer.enqueue(payload, { ...INGEST, query: `name=app&n=${i}` }, ["alpha", "beta"])));

  const batches = new Set(results.map((result) => result.batchId));
  t.diagnostic(`40 concurrent profiles went out in ${batches.size} flush(es)`);
  assert.equal(batches.size, 1, "requests submitted together share one flush");
  const [batchId] = [...batches] as [string];
  for (const name of ["alpha", "beta"]) {
    const jobs = await waitingJobs(t, prefix, name);
    assert.deepEqual(
      jobs.map((job) => [job.id, job.data]),
      [[drainJobId(batchId), { drain: true }]],
      `${name}: one drain job`,
    );
    const segments = await pendingOf(prefix, name);
    assert.equal(segments.length, 1, `${name}: one segment for the whole flush`);
    const [segment] = segments as [(typeof segments)[0]];
    assert.equal(segment.batch, batchId);
    assert.equal(segment.profiles.length, 40);
    const store = new BatchStore(admin, prefix);
    const loaded = await store.load(segment, segment.profiles);
    segment.profiles.forEach((ref, i) => {
      assert.equal(ref.kind === "ingest" && ref.query, `name=app&n=${i}`);
      assert.ok(loaded.get(ref.index)?.equals(payloads[i]!), `profile ${i} comes back byte for byte`);
    });
  }
  // The bytes once: the chunks, whatever the number of targets, and nothing per profile.
  const total = payloads.reduce((sum, payload) => sum + payload.length, 0);
  const chunks = (await keysUnder(admin, prefix)).filter((key) => key.includes(":chunk:"));
  let stored = 0;
  for (const key of chunks) stored += await admin.strlen(key);
  assert.equal(stored, total);
  assert.deepEqual((await admin.smembers(batchClaimsKey(prefix, batchId))).sort(), ["alpha", "beta"]);
  // The references once too: each target's pending entry is a pointer to its profiles, a few dozen bytes.
  const refs = JSON.parse((await admin.get(batchRefsKey(prefix, batchId)))!) as { query: string }[];
  assert.deepEqual(
    refs.map((ref) => ref.query),
    payloads.map((_, i) => `name=app&n=${i}`),
  );
  for (const name of ["alpha", "beta"]) {
    const [entry] = await admin.lrange(new PendingSegments(admin, prefix, name).key, 0, -1);
    assert.equal(
      entry,
      `40:${total}:${JSON.stringify({ batch: batchId, bytes: total, indices: "0-39", receivedAt: INGEST.receivedAt })}`,
      `${name}: a pointer`,
    );
  }
});

test("what arrives while a flush is in flight goes out together in the next", async (t) => {
  const { enqueuer } = await producer(t, [targetConfig("alpha")]);
  const first = enqueuer.enqueue(Buffer.from("first"), INGEST, ["alpha"]);
  // The first flush starts at the end of this turn of the event loop; these arrive while it is in flight.
  await new Promise((resolve) => setImmediate(resolve));
  const later = Array.from({ length: 5 }, (_, i) => enqueuer.enqueue(Buffer.from(`later ${i}`), INGEST, ["alpha"]));
  const [firstBatch, ...laterBatches] = (await Promise.all([first, ...later])).map((result) => result.batchId);
  assert.equal(new Set(laterBatches).size, 1, "the waiting requests share the next flush");
  assert.notEqual(laterBatches[0], firstBatch);
});

test("every flush is reported once done: its profiles and time, and whether it was stored", async (t) => {
  const reports: FlushReport[] = [];
  const { prefix, enqueuer } = await producer(t, [targetConfig("alpha")], { onFlush: (flush) => reports.push(flush) });
  const started = performance.now();
  const [first] = await Promise.all([enqueuer.enqueue(randomBytes(100), INGEST, ["alpha"]), enqueuer.enqueue(randomBytes(300), INGEST, ["alpha"])]);
  const elapsed = (performance.now() - started) / 1000;
  // With the drain job no longer waiting, the next flush adds one, which cannot be added (see below):
  // the flush fails after its MULTI.
  await new PendingSegments(admin, prefix, "alpha").releaseDeduplication(drainJobId(first.batchId));
  await admin.set(`${prefix}:${queueNameFor("alpha")}:id`, "not a number");
  await assert.rejects(enqueuer.enqueue(randomBytes(50), INGEST, ["alpha"]), QueueUnavailableError);
  assert.deepEqual(
    reports.map(({ profiles, stored }) => ({ profiles, stored })),
    [
      { profiles: 2, stored: true },
      { profiles: 1, stored: false },
    ],
  );
  assert.ok(reports[0]!.seconds > 0 && reports[0]!.seconds <= elapsed, `a flush's time is within its requests' wait: ${reports[0]!.seconds} s of ${elapsed} s`);
});

test("a flush carries at most the configured profiles and bytes", async (t) => {
  const { enqueuer } = await producer(t, [targetConfig("alpha")], { flush: { maxItems: 3, maxBytes: 1_000 } });
  const results = await Promise.all([
    ...Array.from({ length: 7 }, () => enqueuer.enqueue(randomBytes(10), INGEST, ["alpha"])),
    enqueuer.enqueue(randomBytes(5_000), INGEST, ["alpha"]),
  ]);
  const sizes = new Map<string, number>();
  for (const { batchId } of results) sizes.set(batchId, (sizes.get(batchId) ?? 0) + 1);
  assert.deepEqual([...sizes.values()], [3, 3, 1, 1], "a profile larger than the byte bound goes alone");
});

test("each segment says where its profiles are, never bytes; the drain job carries the target's retry budget", async (t) => {
  const { prefix, enqueuer } = await producer(t, [targetConfig("alpha", { maxBackoffRetries: 5 }), targetConfig("beta/1", { maxBackoffRetries: 0 })]);
  const { batchId, queued } = await enqueuer.enqueue(Buffer.from("folded 1\n"), INGEST, ["alpha", "beta/1"]);
  assert.doesNotMatch(batchId, /:/);
  assert.deepEqual(queued, ["alpha", "beta/1"]);
  for (const [name, attempts] of [
    ["alpha", 5],
    ["beta/1", UNBOUNDED_ATTEMPTS],
  ] as const) {
    const queue = targetQueue(admin, prefix, name);
    t.after(() => queue.close());
    assert.equal(queue.name, queueNameFor(name));
    assert.deepEqual(await pendingOf(prefix, name), [{ batch: batchId, bytes: 9, profiles: [{ ...INGEST, index: 0, offset: 0, size: 9 }] }]);
    const job = await queue.getJob(drainJobId(batchId));
    assert.ok(job, name);
    assert.equal(job.name, "batch");
    assert.deepEqual(job.data, { drain: true });
    assert.deepEqual(job.opts.deduplication, { id: "drain" });
    assert.equal(job.opts.attempts, attempts);
    assert.deepEqual(job.opts.backoff, { type: TARGET_BACKOFF });
    assert.equal(job.opts.removeOnComplete, true);
    assert.equal(job.opts.removeOnFail, false);
  }
  assert.deepEqual(await new TargetBacklog(admin, prefix, "alpha").read(), { profiles: 1, bytes: 9 });
});

test("a reload's targets: new ones get profiles, removed ones none (their queue stays), changed ones the new retry budget for their next drain job", async (t) => {
  const { prefix, enqueuer } = await producer(t, [targetConfig("alpha", { maxBackoffRetries: 5 }), targetConfig("beta")]);
  const before = await enqueuer.enqueue(Buffer.from("before"), INGEST, ["alpha", "beta"]);
  // Admitted for beta before the reload: still written for it.
  const pending = enqueuer.enqueue(Buffer.from("in flight"), INGEST, ["beta"]);
  enqueuer.setTargets([targetConfig("alpha", { maxBackoffRetries: 7 }), targetConfig("gamma")]);
  const inFlight = await pending;
  const after = await enqueuer.enqueue(Buffer.from("after"), INGEST, ["alpha", "gamma"]);
  await assert.rejects(
    enqueuer.enqueue(Buffer.from("x"), INGEST, ["beta"]),
    (error: unknown) => error instanceof InvalidTargetsError && /unknown target\(s\): beta/.test(error.message),
  );

  const jobOf = async (name: string, id: string) => {
    const queue = targetQueue(admin, prefix, name);
    t.after(() => queue.close());
    return queue.getJob(drainJobId(id));
  };
  const batchesOf = async (name: string) => (await pendingOf(prefix, name)).map((segment) => segment.batch);
  const waiting = await jobOf("alpha", before.batchId);
  assert.equal(waiting?.opts.attempts, 5);
  assert.equal(await jobOf("alpha", after.batchId), undefined, "the drain job waiting takes the later segment along");
  assert.deepEqual(await batchesOf("alpha"), [before.batchId, after.batchId]);
  assert.ok(await jobOf("gamma", after.batchId));
  assert.deepEqual(await batchesOf("gamma"), [after.batchId]);
  assert.ok(await jobOf("beta", before.batchId), "the removed target's queue keeps its jobs");
  assert.deepEqual(await batchesOf("beta"), [before.batchId, inFlight.batchId], "and gets what it admitted before the reload");
  await waiting!.remove();
  const later = await enqueuer.enqueue(Buffer.from("later"), INGEST, ["alpha"]);
  assert.equal((await jobOf("alpha", later.batchId))?.opts.attempts, 7);
});

test("a target removed and added back takes up its queue again: reloads hold no more queues than target names", async (t) => {
  const { prefix, connection, enqueuer } = await producer(t, [targetConfig("alpha"), targetConfig("beta")]);
  // Each BullMQ queue listens on the connection it is given.
  const before = connection.eventNames().reduce((sum, name) => sum + connection.listenerCount(name), 0);
  for (let i = 0; i < 5; i++) {
    enqueuer.setTargets([targetConfig("alpha")]);
    enqueuer.setTargets([targetConfig("alpha"), targetConfig("beta", { maxBackoffRetries: 3 + i })]);
  }
  const afterReloads = connection.eventNames().reduce((sum, name) => sum + connection.listenerCount(name), 0);
  assert.equal(afterReloads, before, "no queue made per reload");
  const { batchId } = await enqueuer.enqueue(Buffer.from("back"), INGEST, ["beta"]);
  assert.deepEqual(
    (await pendingOf(prefix, "beta")).map((segment) => segment.batch),
    [batchId],
  );
  const queue = targetQueue(admin, prefix, "beta");
  t.after(() => queue.close());
  assert.equal((await queue.getJob(drainJobId(batchId)))?.opts.attempts, 7, "with the retry budget it was added back with");
});

test("a flush that finds a drain job waiting leaves its segment to that job and adds none; once it claimed, the next flush adds one", async (t) => {
  const { prefix, enqueuer } = await producer(t, [targetConfig("alpha")]);
  const first = await enqueuer.enqueue(Buffer.from("first"), INGEST, ["alpha"]);
  const scriptsBefore = await commandCalls(admin, "evalsha");
  const second = await enqueuer.enqueue(Buffer.from("second"), INGEST, ["alpha"]);
  assert.equal(await commandCalls(admin, "evalsha"), scriptsBefore, "no BullMQ add, not even a deduplicated one");
  const queue = targetQueue(admin, prefix, "alpha");
  t.after(() => queue.close());
  assert.deepEqual(
    (await queue.getJobs(["waiting"])).map((job) => job.id),
    [drainJobId(first.batchId)],
  );

  const claim = await new PendingSegments(admin, prefix, "alpha").claim(drainJobId(first.batchId), DRAIN_BOUNDS);
  assert.deepEqual(
    claim?.entries.map((segment) => segment.batch),
    [first.batchId, second.batchId],
    "the waiting job took both",
  );
  const third = await enqueuer.enqueue(Buffer.from("third"), INGEST, ["alpha"]);
  assert.ok(await queue.getJob(drainJobId(third.batchId)), "a flush after the claim adds the next drain job");
  assert.deepEqual(
    (await pendingOf(prefix, "alpha")).map((segment) => segment.batch),
    [third.batchId],
  );
});

test("with a job connection, BullMQ's queues use it: its scripts stay off the connection of the flushes", async (t) => {
  const jobConnection = createRedisConnection(server.url, "producer");
  t.after(() => jobConnection.disconnect());
  await waitForRedis(jobConnection, 2_000);
  const { prefix, connection, enqueuer } = await producer(t, [targetConfig("alpha")], { jobConnection });
  const { batchId } = await enqueuer.enqueue(Buffer.from("one"), INGEST, ["alpha"]);
  const queue = targetQueue(admin, prefix, "alpha");
  t.after(() => queue.close());
  assert.ok(await queue.getJob(drainJobId(batchId)), "the drain job is added over the job connection");
  // ioredis copies every script defined on a connection into each MULTI made on it.
  const scripts = (redis: Redis) => Object.keys((redis as unknown as { scriptsSet: Record<string, unknown> }).scriptsSet);
  // BullMQ names its scripts `<script>:<BullMQ version>`.
  const bullmq = (redis: Redis) => scripts(redis).filter((name) => name.startsWith("addStandardJob:"));
  assert.equal(bullmq(jobConnection).length, 1, "BullMQ's scripts are on the job connection");
  assert.deepEqual(bullmq(connection as Redis), [], `the flush connection has ${scripts(connection as Redis).join(", ")}`);
  assert.deepEqual(
    (await pendingOf(prefix, "alpha")).map((segment) => segment.batch),
    [batchId],
  );
});

test("a drain job that cannot be added fails every request of the flush, and its segments are taken back", async (t) => {
  const { prefix, enqueuer } = await producer(t, [targetConfig("alpha"), targetConfig("beta")]);
  const before = await enqueuer.enqueue(Buffer.from("before"), INGEST, ["beta"]);
  const keysBefore = await keysUnder(admin, prefix);
  // BullMQ numbers every job it adds from this key: a value that is not a number makes its add fail
  // after the flush's MULTI stored everything else.
  const idKey = `${prefix}:${queueNameFor("alpha")}:id`;
  await admin.set(idKey, "not a number");
  const outcomes = await Promise.allSettled([
    enqueuer.enqueue(Buffer.from("one"), INGEST, ["alpha", "beta"]),
    enqueuer.enqueue(Buffer.from("two"), INGEST, ["alpha"]),
  ]);
  for (const outcome of outcomes) {
    assert.equal(outcome.status, "rejected");
    assert.ok(outcome.reason instanceof QueueUnavailableError, String(outcome.reason));
    assert.match(outcome.reason.message, /could not store the profiles: .*not an integer/);
  }
  await enqueuer.close();
  // alpha's backlog counter stays, at 0 (below).
  assert.deepEqual(
    (await keysUnder(admin, prefix)).filter((key) => key !== idKey && key !== new TargetBacklog(admin, prefix, "alpha").key),
    keysBefore,
    "payload released, nothing else left",
  );
  assert.deepEqual(await pendingOf(prefix, "alpha"), [], "alpha: no segment");
  assert.deepEqual(
    (await pendingOf(prefix, "beta")).map((segment) => segment.batch),
    [before.batchId],
    "beta: only the segment from before",
  );
  assert.deepEqual(await new TargetBacklog(admin, prefix, "alpha").read(), { profiles: 0, bytes: 0 });
  assert.deepEqual(await new TargetBacklog(admin, prefix, "beta").read(), { profiles: 1, bytes: 6 });
});

test("profiles of one flush for different targets: each target's segment has only its own", async (t) => {
  const { prefix, enqueuer } = await producer(t, [targetConfig("alpha"), targetConfig("beta")]);
  const [a, both, b] = await Promise.all([
    enqueuer.enqueue(Buffer.from("for alpha"), INGEST, ["alpha"]),
    enqueuer.enqueue(Buffer.from("for both"), INGEST, ["alpha", "beta"]),
    enqueuer.enqueue(Buffer.from("for beta"), INGEST, ["beta"]),
  ]);
  assert.equal(new Set([a.batchId, both.batchId, b.batchId]).size, 1);
  const store = new BatchStore(admin, prefix);
  for (const [name, expected] of [
    ["alpha", ["for alpha", "for both"]],
    ["beta", ["for both", "for beta"]],
  ] as const) {
    const [segment] = await pendingOf(prefix, name);
    const loaded = await store.load(segment!, segment!.profiles);
    assert.deepEqual(
      segment!.profiles.map((ref) => loaded.get(ref.index)?.toString()),
      expected,
    );
  }
});

test("refuses no, repeated or unknown targets before storing anything", async (t) => {
  const { prefix, enqueuer } = await producer(t, [targetConfig("alpha")]);
  for (const targets of [[], ["alpha", "alpha"], ["alpha", "nope"]]) {
    await assert.rejects(enqueuer.enqueue(Buffer.from("x"), INGEST, targets), (error: unknown) => {
      assert.ok(error instanceof InvalidTargetsError);
      assert.deepEqual(error.targets, targets);
      return true;
    });
  }
  assert.deepEqual(await keysUnder(admin, prefix), []);
});

test("refuses a payload TTL that is not a positive integer", () => {
  assert.throws(() => new Enqueuer({ connection: admin, prefix: "ttl", payloadTtlMs: 0, targets: [targetConfig("alpha")] }), RangeError);
});

test("Redis stalling mid-flush: every request of the flush fails, and the flush is undone once Redis goes on", async (t) => {
  const { own, ownAdmin } = await ownRedis(t);
  const { prefix, enqueuer } = await producer(t, [targetConfig("alpha"), targetConfig("beta")], {}, own);
  await enqueuer.enqueue(Buffer.from("before"), INGEST, ["alpha", "beta"]);
  const before = await keysUnder(ownAdmin, prefix);

  // Redis holds every write for 2.5 s: the flush (a MULTI) waits in Redis beyond the producer's 1.5 s
  // command timeout, and runs when the pause ends, followed by the undo the enqueuer sent after it.
  await ownAdmin.client("PAUSE", 2_500, "WRITE");
  const started = Date.now();
  const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => enqueuer.enqueue(Buffer.from(`during ${i}`), INGEST, ["alpha", "beta"])));
  t.diagnostic(`all 20 answered after ${Date.now() - started} ms`);
  for (const outcome of outcomes) {
    assert.equal(outcome.status, "rejected");
    assert.ok(outcome.reason instanceof QueueUnavailableError, String(outcome.reason));
  }

  // A write of ours waits out the pause behind the flush and its undo, which Redis then runs first
  // (paused clients go on in the order they were held); the undo may still be on its way after it.
  await ownAdmin.set("after-the-pause", "1");
  for (const deadline = Date.now() + 10_000; JSON.stringify(await keysUnder(ownAdmin, prefix)) !== JSON.stringify(before) && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await enqueuer.close();
  assert.deepEqual(await keysUnder(ownAdmin, prefix), before, "nothing of the failed flush is left");
  for (const name of ["alpha", "beta"]) {
    const queue = targetQueue(ownAdmin, prefix, name);
    t.after(() => queue.close());
    assert.equal(await queue.getJobCountByTypes("waiting", "delayed"), 1, `${name}: only the drain job from before`);
    assert.equal((await pendingOf(prefix, name, ownAdmin)).length, 1, `${name}: only the segment from before`);
    assert.deepEqual(await new TargetBacklog(ownAdmin, prefix, name).read(), { profiles: 1, bytes: 6 }, `${name}: counted once`);
  }
});

test("a flush's profiles count once under the bounds: its reservations end with the reading that counts it in, before its drain job's add", async (t) => {
  // The drain jobs go to a Redis of their own whose writes wait 400 ms: each flush's add takes that long.
  const { own: jobsRedis, ownAdmin: jobsAdmin } = await ownRedis(t);
  const jobConnection = createRedisConnection(jobsRedis.url, "producer");
  jobConnection.on("error", () => undefined);
  t.after(() => jobConnection.disconnect());
  await waitForRedis(jobConnection, 2_000);
  const { enqueuer } = await producer(t, [targetConfig("alpha")], { jobConnection, backlog: { maxProfiles: 2, maxBytes: 0, policy: "reject" } });
  await jobsAdmin.client("PAUSE", 400, "WRITE");
  const first = enqueuer.enqueue(Buffer.from("one"), INGEST, ["alpha"]);
  await new Promise((resolve) => setTimeout(resolve, 150));
  // Redis holds 1 profile; this process has none left to write: the second fits.
  await Promise.all([first, enqueuer.enqueue(Buffer.from("two"), INGEST, ["alpha"])]);
  await assert.rejects(enqueuer.enqueue(Buffer.from("three"), INGEST, ["alpha"]), BacklogFullError);
});

test("a flush larger than the unsent bound goes to a Redis that reads it, and so do the flushes right behind it", async (t) => {
  const { prefix, enqueuer } = await producer(t, [targetConfig("alpha")]);
  const bigBytes = MAX_UNSENT_BYTES + 8 * 1024 * 1024;
  for (let round = 0; round < 3; round++) {
    const big = enqueuer.enqueue(randomBytes(bigBytes), INGEST, ["alpha"]);
    await new Promise((resolve) => setImmediate(resolve));
    const small = Array.from({ length: 3 }, (_, i) => enqueuer.enqueue(Buffer.from(`small ${i}`), INGEST, ["alpha"]));
    const stored: EnqueueResult[] = await Promise.all([big, ...small]);
    assert.deepEqual(
      stored.map((result) => result.queued),
      Array(4).fill(["alpha"]),
      `round ${round}: stored`,
    );
  }
  assert.deepEqual(
    await new TargetBacklog(admin, prefix, "alpha").read(),
    { profiles: 12, bytes: 3 * (bigBytes + 3 * "small 0".length) },
    "every profile of every round is in Redis",
  );
});

test("Redis frozen with its connection open: flushes stop once the connection holds too much unsent, and the process' memory stays bounded", async (t) => {
  const { own, ownAdmin } = await ownRedis(t);
  const { connection, enqueuer } = await producer(t, [targetConfig("alpha"), targetConfig("beta")], {}, own);
  await enqueuer.enqueue(Buffer.from("before"), INGEST, ["alpha", "beta"]);
  const pid = Number(/process_id:(\d+)/.exec(await ownAdmin.info("server"))![1]);
  process.kill(pid, "SIGSTOP");
  // 1 MiB profiles at 40 MiB/s for 6 s, each with a receiver's deadline.
  let mostUnsent = 0;
  const outcomes: Promise<unknown>[] = [];
  // ioredis' queue of commands sent and not answered: what a refused flush must not add to.
  const unanswered = () => (connection as unknown as { commandQueue: { length: number } }).commandQueue.length;
  let unansweredAtFirstRefusal: number | undefined;
  const settle = (work: Promise<unknown>) =>
    work.then(
      () => "stored",
      (error: unknown) => {
        if (/not reading its connection/.test((error as Error).message)) unansweredAtFirstRefusal ??= unanswered();
        return error;
      },
    );
  const body = randomBytes(1024 * 1024);
  let settled: unknown[];
  let unansweredAtEnd = 0;
  try {
    const load = setInterval(() => {
      mostUnsent = Math.max(mostUnsent, (connection as Redis).stream.writableLength);
      for (let i = 0; i < 2; i++) outcomes.push(settle(enqueuer.enqueue(body, INGEST, ["alpha", "beta"], Date.now() + 1_800)));
    }, 50);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    clearInterval(load);
    // Every one answered while Redis is still frozen: within its deadline, or its flush's command timeout.
    settled = await Promise.all(outcomes);
    unansweredAtEnd = unanswered();
  } finally {
    process.kill(pid, "SIGCONT");
  }
  t.diagnostic(`most unsent: ${(mostUnsent / 2 ** 20).toFixed(1)} MiB`);
  // Held back once a flush timed out: what was sent before, at most two flushes beyond the bound.
  assert.ok(mostUnsent <= MAX_UNSENT_BYTES + 2 * DEFAULT_FLUSH_BOUNDS.maxBytes + 1024 * 1024, `${mostUnsent} bytes unsent`);
  assert.ok(settled.every((outcome) => outcome instanceof QueueUnavailableError));
  assert.ok(
    settled.some((outcome) => /Redis is not reading its connection: \d+ bytes/.test((outcome as Error).message)),
    "refused without being sent",
  );
  assert.ok(
    unansweredAtEnd - unansweredAtFirstRefusal! < 10,
    `unanswered commands ${unansweredAtFirstRefusal} -> ${unansweredAtEnd}: refused flushes send no undo`,
  );

  // Redis goes on: what it was sent runs (and the undo of each failed flush), then it stores again.
  for (let attempt = 0; ; attempt++) {
    try {
      await enqueuer.enqueue(Buffer.from("after"), INGEST, ["alpha", "beta"]);
      break;
    } catch (error) {
      if (attempt === 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
});

test("Redis refusing the flush (OOM) fails every request of it and stores nothing", async (t) => {
  const small = await startRedisServer({ maxmemory: "2mb" });
  t.after(() => small.stop());
  const { prefix, connection, enqueuer } = await producer(t, [targetConfig("alpha")], {}, small);
  const outcomes = await Promise.allSettled([
    enqueuer.enqueue(randomBytes(4 * 1024 * 1024), INGEST, ["alpha"]),
    enqueuer.enqueue(randomBytes(10), INGEST, ["alpha"]),
  ]);
  for (const outcome of outcomes) {
    assert.equal(outcome.status, "rejected");
    assert.ok(outcome.reason instanceof QueueUnavailableError);
    assert.match(outcome.reason.message, /could not store the profiles: .*OOM/);
  }
  await enqueuer.close();
  assert.deepEqual(await keysUnder(connection, prefix), []);
});

test("with --redis.min-replicas, a flush no replica confirms fails every request of it and is undone", async (t) => {
  const { prefix, enqueuer } = await producer(t, [targetConfig("alpha"), targetConfig("beta")], { replication: { minReplicas: 1, timeoutMs: 100 } });
  const started = Date.now();
  const outcomes = await Promise.allSettled([
    enqueuer.enqueue(Buffer.from("one"), INGEST, ["alpha", "beta"]),
    enqueuer.enqueue(Buffer.from("two"), INGEST, ["alpha"]),
  ]);
  for (const outcome of outcomes) {
    assert.equal(outcome.status, "rejected");
    assert.ok(outcome.reason instanceof QueueUnavailableError);
    assert.match(outcome.reason.message, /could not store the profiles: 0 of 1 replica\(s\) of redis confirmed the write within 100 ms/);
    assert.ok(outcome.reason.cause instanceof ReplicationError);
  }
  assert.ok(Date.now() - started >= 100, "WAIT waited for its timeout");
  await enqueuer.close();
  // What is left is each queue's own bookkeeping and the drain jobs the flush added, with nothing to claim.
  const left = await keysUnder(admin, prefix);
  assert.deepEqual(
    left.filter((key) => key.includes(":batch:") || key.endsWith(":pending")),
    [],
    "segments taken back, payload released",
  );
  for (const name of ["alpha", "beta"]) {
    assert.deepEqual(await pendingOf(prefix, name), [], `${name}: no segment`);
    assert.deepEqual(await new TargetBacklog(admin, prefix, name).read(), { profiles: 0, bytes: 0 }, `${name}: counted out`);
  }
});

test("with --redis.min-replicas on one Redis with a replica: 200 once the replica holds the flush, 503 without it", async (t) => {
  const master = await startRedisServer({ tcp: true });
  t.after(() => master.stop());
  const replica = await startRedisServer({ replicaOf: master });
  t.after(() => replica.stop());
  const { prefix, enqueuer } = await producer(t, [targetConfig("alpha")], { replication: { minReplicas: 1, timeoutMs: 500 } }, master);
  const { batchId } = await enqueuer.enqueue(Buffer.from("on two nodes"), INGEST, ["alpha"]);
  const onReplica = createRedisConnection(replica.url, "admin");
  t.after(() => onReplica.disconnect());
  assert.equal((await onReplica.getBuffer(chunkKey(prefix, batchId, 0)))?.toString(), "on two nodes", "the replica holds the payload at the 200");
  assert.equal(await targetQueue(onReplica, prefix, "alpha").getJobState(drainJobId(batchId)), "waiting", "and the drain job");
  assert.equal(await onReplica.llen(new PendingSegments(admin, prefix, "alpha").key), 1, "and the segment");

  await replica.stop();
  await assert.rejects(enqueuer.enqueue(Buffer.from("master only"), INGEST, ["alpha"]), (error: unknown) => {
    assert.ok(error instanceof QueueUnavailableError);
    assert.match(error.message, /0 of 1 replica\(s\) of redis confirmed the write within 500 ms/);
    return true;
  });
});

test("fails within seconds while Redis is down, and works again once it is back", async (t) => {
  const own = await startRedisServer();
  const { connection, enqueuer } = await producer(t, [targetConfig("alpha"), targetConfig("beta")], {}, own);
  await own.kill();
  // An enqueuer created while Redis is down must work once it is back, too.
  const lateConnection = createRedisConnection(own.url, "producer");
  lateConnection.on("error", () => undefined);
  const late = new Enqueuer({ connection: lateConnection, prefix: "late", payloadTtlMs: 60_000, targets: [targetConfig("alpha")] });
  t.after(async () => {
    await late.close();
    lateConnection.disconnect();
    await own.stop();
  });

  const started = Date.now();
  await assert.rejects(enqueuer.enqueue(Buffer.from("x"), INGEST, ["alpha", "beta"]), QueueUnavailableError);
  await assert.rejects(late.enqueue(Buffer.from("x"), INGEST, ["alpha"]), QueueUnavailableError);
  const elapsed = Date.now() - started;
  t.diagnostic(`enqueue failed after ${elapsed} ms`);
  assert.ok(elapsed < 4_000, `took ${elapsed} ms`);

  await own.restart();
  await Promise.all([waitForRedis(connection, 15_000), waitForRedis(lateConnection, 15_000)]);
  assert.ok((await enqueuer.enqueue(Buffer.from("x"), INGEST, ["alpha", "beta"])).batchId);
  assert.ok((await late.enqueue(Buffer.from("x"), INGEST, ["alpha"])).batchId);
});

test("backlog bounds apply per profile: drop leaves the full target out, reject refuses the request", async (t) => {
  const bounds = { maxProfiles: 2, maxBytes: 0 };
  const { prefix, enqueuer } = await producer(t, [targetConfig("alpha"), targetConfig("beta")], { backlog: { ...bounds, policy: "drop" } });
  const results = [];
  for (let i = 0; i < 3; i++) results.push(await enqueuer.enqueue(Buffer.from(`p${i}`), INGEST, ["alpha", "beta"]));
  assert.deepEqual(
    results.map((result) => result.queued),
    [["alpha", "beta"], ["alpha", "beta"], []],
  );
  assert.deepEqual(results[2]!.dropped, [
    { target: "alpha", profiles: 2, bytes: 4 },
    { target: "beta", profiles: 2, bytes: 4 },
  ]);
  assert.equal(results[2]!.batchId, "", "dropped by every target: nothing stored");

  const strict = await producer(t, [targetConfig("alpha"), targetConfig("beta")], { backlog: { ...bounds, policy: "reject" } });
  await strict.enqueuer.enqueue(Buffer.from("a"), INGEST, ["alpha"]);
  await strict.enqueuer.enqueue(Buffer.from("b"), INGEST, ["alpha"]);
  const before = await keysUnder(admin, strict.prefix);
  await assert.rejects(strict.enqueuer.enqueue(Buffer.from("c"), INGEST, ["alpha", "beta"]), (error: unknown) => {
    assert.ok(error instanceof BacklogFullError);
    assert.equal(error.message, "backlog full for target alpha (2 of 2 profiles)");
    assert.deepEqual(error.targets, [{ target: "alpha", profiles: 2, bytes: 2 }]);
    return true;
  });
  assert.deepEqual(await keysUnder(admin, strict.prefix), before, "nothing stored for a rejected request");
  assert.ok(prefix !== strict.prefix);
});

test("a drop is reported only with the profile stored for its other targets: a failed flush (503, retried) reports none", async (t) => {
  const small = await startRedisServer({ maxmemory: "2mb" });
  t.after(() => small.stop());
  const { enqueuer } = await producer(t, [targetConfig("alpha"), targetConfig("beta")], { backlog: { maxProfiles: 1, maxBytes: 0, policy: "drop" } }, small);
  await enqueuer.enqueue(Buffer.from("fills alpha"), INGEST, ["alpha"]);
  await assert.rejects(enqueuer.enqueue(randomBytes(4 * 1024 * 1024), INGEST, ["alpha", "beta"]), QueueUnavailableError);
  const stored = await enqueuer.enqueue(Buffer.from("small"), INGEST, ["alpha", "beta"]);
  assert.deepEqual(stored.queued, ["beta"]);
  assert.deepEqual(
    stored.dropped.map((full) => full.target),
    ["alpha"],
  );
});

test("profiles that wait for their flush count against the bound already", async (t) => {
  const { enqueuer } = await producer(t, [targetConfig("alpha")], { backlog: { maxProfiles: 3, maxBytes: 0, policy: "drop" } });
  const results = await Promise.all(Array.from({ length: 5 }, (_, i) => enqueuer.enqueue(Buffer.from(`p${i}`), INGEST, ["alpha"])));
  assert.deepEqual(
    results.map((result) => result.queued.length),
    [1, 1, 1, 0, 0],
  );
});

test("a profile whose client gave up while it waited for its flush is withdrawn: nothing stored, no room held under the bound", async (t) => {
  const { own, ownAdmin } = await ownRedis(t);
  const { prefix, enqueuer } = await producer(
    t,
    [targetConfig("alpha")],
    { flush: { maxItems: 1, maxBytes: 1_000_000 }, backlog: { maxProfiles: 4, maxBytes: 0, policy: "reject" } },
    own,
  );
  // Redis holds writes for 1 s (less than the command timeout): two flushes of one wait in it, two
  // profiles wait behind them, and their deadlines pass (their clients have had their 503).
  await ownAdmin.client("PAUSE", 1_000, "WRITE");
  const stored = [enqueuer.enqueue(Buffer.from("a"), INGEST, ["alpha"]), enqueuer.enqueue(Buffer.from("b"), INGEST, ["alpha"])];
  const abandoned = [0, 1].map((i) => enqueuer.enqueue(Buffer.from(`gave up ${i}`), INGEST, ["alpha"], Date.now() + 50));
  await new Promise((resolve) => setTimeout(resolve, 100));
  // Two profiles are admitted and unwritten, no longer four: a third fits under the bound of 4.
  stored.push(enqueuer.enqueue(Buffer.from("c"), INGEST, ["alpha"]));
  for (const outcome of await Promise.allSettled(abandoned)) {
    assert.equal(outcome.status, "rejected");
    assert.ok(outcome.reason instanceof QueueUnavailableError, String(outcome.reason));
    assert.match(outcome.reason.message, /not stored: its deadline passed before a write carried it/);
  }
  const batches = (await Promise.all(stored)).map((result) => result.batchId);
  const payloads = await Promise.all(batches.map((batch) => ownAdmin.getBuffer(chunkKey(prefix, batch, 0))));
  assert.deepEqual(
    payloads.map((payload) => payload?.toString()),
    ["a", "b", "c"],
  );
  assert.equal((await ownAdmin.keys(`${prefix}:batch:*:chunk:*`)).length, 3, "nothing of the withdrawn profiles is stored");
  assert.equal((await pendingOf(prefix, "alpha", ownAdmin)).length, 3);
});

test("the chunk keys of a batch carry the payload TTL; its references and claims twice that", async (t) => {
  const { prefix, enqueuer } = await producer(t, [targetConfig("alpha")]);
  const { batchId } = await enqueuer.enqueue(randomBytes(100), INGEST, ["alpha"]);
  const chunkTtl = await admin.pttl(chunkKey(prefix, batchId, 0));
  assert.ok(chunkTtl > 3_500_000 && chunkTtl <= 3_600_000, `chunk: ${chunkTtl}`);
  for (const key of [batchRefsKey(prefix, batchId), batchClaimsKey(prefix, batchId)]) {
    const ttl = await admin.pttl(key);
    assert.ok(ttl > 7_100_000 && ttl <= 7_200_000, `${key}: ${ttl}`);
  }
});
