// A Redis error is not the target's failure: an attempt that meets one before it sent anything uses
// none of the job's attempts. Its own redis-server: these tests change its ACL and its configuration.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pollUntil, startNetworkFaultProxy, startRedisServer } from "@pyroscope-relay/testing";
import { drainJobId } from "./batch-job.js";
import { chunkKey } from "./keys.js";
import { ingestFacts, queueHarness, scriptedDelivery, type QueueHarness } from "./queue-harness.js";
import { createRedisConnection, SILENCE_LIMIT_MS, waitForRedis, type RedisConnection } from "./redis-connection.js";
import { readTargetStates } from "./target-state.js";

// On TCP too: a URL names the ACL user there.
const server = await startRedisServer({ tcp: true });
after(() => server.stop());

/** Enqueues `count` profiles (queries `n=0`...) in one flush for `alpha`; resolves with the batch id. */
async function flush(h: QueueHarness, count: number): Promise<string> {
  const results = await Promise.all(Array.from({ length: count }, (_, i) => h.enqueuer.enqueue(Buffer.from(`profile ${i}`), ingestFacts(`n=${i}`), ["alpha"])));
  return results[0]!.batchId;
}

/**
 * A worker connection as ACL user `writer`, who may MGET batches' references but no chunks: a job's
 * claim works, loading its payloads meets Redis' NOPERM. `allowChunks` lifts that.
 */
async function writerDeniedChunks(t: TestContext, h: QueueHarness): Promise<{ connection: RedisConnection; allowChunks(): Promise<void> }> {
  await h.connection.acl("SETUSER", "writer", "reset", "on", ">pw", "~*", "&*", "+@all", "-mget", "(~*:refs +mget)");
  // Counts refusals from here on (refusedMgets).
  await h.connection.config("RESETSTAT");
  const connection = createRedisConnection(`redis://writer:pw@127.0.0.1:${server.port}`, "worker");
  connection.on("error", () => undefined);
  t.after(() => connection.disconnect());
  await waitForRedis(connection, 5_000);
  return { connection, allowChunks: async () => void (await h.connection.acl("SETUSER", "writer", "+mget")) };
}

/** How many MGETs Redis refused so far (INFO commandstats). */
async function refusedMgets(h: QueueHarness): Promise<number> {
  return Number(/^cmdstat_mget:.*rejected_calls=(\d+)/m.exec(await h.connection.info("commandstats"))?.[1] ?? 0);
}

/** The state `jobId` is in once it leaves `active`. */
function leftActive(h: QueueHarness, jobId: string): Promise<string> {
  return pollUntil("the job to leave active", async () => {
    const state = await h.queue("alpha").getJobState(jobId);
    return state === "active" ? undefined : state;
  });
}

test("a Redis error loading the payloads on a job's last attempt uses no attempt: the job waits, then delivers, none of it failed", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"], { maxBackoffRetries: 1 });
  const writer = await writerDeniedChunks(t, h);
  const batchId = await flush(h, 2);
  const jobId = drainJobId(batchId);
  const errors: unknown[] = [];
  const retrying: number[] = [];
  const delivery = scriptedDelivery(() => "deliver");
  h.worker("alpha", delivery, {
    connection: writer.connection,
    observer: { error: (error) => errors.push(error), retrying: ({ attempt }) => retrying.push(attempt) },
  });
  await pollUntil("a refused load", async () => (await refusedMgets(h)) >= 1);
  assert.equal(await leftActive(h, jobId), "delayed", "back to wait for its retry, not failed");
  assert.equal((await h.queue("alpha").getJob(jobId))?.attemptsMade, 0, "the Redis error used no attempt");
  // Refused again: again back to wait, its one attempt unused.
  await pollUntil("a second refused load", async () => (await refusedMgets(h)) >= 2);
  assert.equal(await leftActive(h, jobId), "delayed");
  assert.equal((await h.queue("alpha").getJob(jobId))?.attemptsMade, 0);
  assert.deepEqual(delivery.attempts, [], "nothing was sent");
  assert.equal(await h.queue("alpha").getFailedCount(), 0);
  assert.ok(
    errors.some((error) => /NOPERM/.test(String(error))),
    "the Redis error is reported",
  );

  await writer.allowChunks();
  await pollUntil("the drain job to complete", async () => (await h.queue("alpha").getJob(jobId)) === undefined);
  assert.deepEqual(delivery.attempts, [["n=0", "n=1"]]);
  assert.deepEqual(await h.queue("alpha").getFailed(), [], "no profile listed failed");
  assert.deepEqual(retrying, [], "no retry of the target reported");
  await pollUntil("the payload to go", async () => (await h.connection.exists(chunkKey(h.prefix, batchId, 0))) === 0);
  const [state] = await readTargetStates(h.connection, h.prefix, ["alpha"]);
  assert.equal(state!.deliveredProfiles, 2);
});

test("an error after the delivery began uses the attempt, a Redis error before it does not", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"], { maxBackoffRetries: 2 });
  const writer = await writerDeniedChunks(t, h);
  const batchId = await flush(h, 2);
  const jobId = drainJobId(batchId);
  await h.connection.set(`${h.prefix}:not-a-counter`, "text");
  const sent: number[][] = [];
  const retrying: number[] = [];
  h.worker(
    "alpha",
    {
      attempts: [],
      deliver: async (profiles, report) => {
        sent.push(profiles.map(({ ref }) => ref.index));
        const [first, ...rest] = profiles;
        report.delivered(first!.ref.index, [0]);
        // One profile went out; then a Redis error ends the first attempt (the circuit breaker keeps
        // the target's state in Redis, say).
        if (sent.length === 1) await h.connection.incr(`${h.prefix}:not-a-counter`);
        for (const { ref } of rest) report.delivered(ref.index, [0]);
        return {};
      },
    },
    {
      connection: writer.connection,
      observer: { retrying: ({ attempt }) => retrying.push(attempt) },
    },
  );
  await pollUntil("the refused load", async () => (await refusedMgets(h)) >= 1);
  assert.equal(await leftActive(h, jobId), "delayed");
  assert.equal((await h.queue("alpha").getJob(jobId))?.attemptsMade, 0, "the Redis error used no attempt");
  await writer.allowChunks();
  await pollUntil("the drain job to complete", async () => (await h.queue("alpha").getJob(jobId)) === undefined);
  assert.deepEqual(sent, [[0, 1], [1]], "the retry after the error sends only what was not delivered");
  assert.deepEqual(retrying, [1], "the error after sending used the first attempt, the Redis error none");
  assert.deepEqual(await h.queue("alpha").getFailed(), [], "the second attempt, the last, delivered the rest");
  const [state] = await readTargetStates(h.connection, h.prefix, ["alpha"]);
  assert.equal(state!.deliveredProfiles, 2);
});

test("a hand-back that Redis refuses too is tried again: the job neither stalls nor fails, and delivers once Redis takes writes", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"], { maxBackoffRetries: 1 });
  const batchId = await flush(h, 1);
  const jobId = drainJobId(batchId);
  const refusals: unknown[] = [];
  const delivery = scriptedDelivery(() => "deliver");
  // The job is taken at once, and claims once it is 2 s old.
  h.worker("alpha", delivery, { claimDelayMs: 2_000, observer: { error: (error) => refusals.push(error) } });
  await pollUntil("the job to start", async () => (await h.queue("alpha").getJobState(jobId)) === "active");
  // Then Redis refuses every write (NOREPLICAS, as a master cut off from its replicas): the claim, the
  // hand-back, BullMQ's lock renewal and stalled-job check alike.
  await h.connection.config("SET", "min-replicas-to-write", "1");
  try {
    await pollUntil("the refused claim", () => refusals.some((error) => /NOREPLICAS/.test(String(error))));
    await sleep(2_000);
    assert.equal(await h.queue("alpha").getJobState(jobId), "active", "the writer keeps the job while it hands it back");
  } finally {
    await h.connection.config("SET", "min-replicas-to-write", "0");
  }
  const writable = Date.now();
  // Well within the job's lock (15 s): a job left to stall would come back only after it expired.
  await pollUntil("the drain job to complete", async () => (await h.queue("alpha").getJob(jobId)) === undefined, { timeoutMs: 8_000 });
  t.diagnostic(`delivered ${Date.now() - writable} ms after Redis took writes again`);
  assert.deepEqual(delivery.attempts, [["n=0"]]);
  assert.deepEqual(await h.queue("alpha").getFailed(), []);
});

test("a worker whose connections the network black-holes fetches again on new ones: a profile stored meanwhile is delivered", {
  timeout: 90_000,
}, async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const proxy = await startNetworkFaultProxy({ path: server.socketPath }, { path: join(server.dir, "writer-proxy.sock") });
  t.after(() => proxy.close());
  const connection = createRedisConnection(`unix://${proxy.address.path}`, "worker");
  connection.on("error", () => undefined);
  t.after(() => connection.disconnect());
  await waitForRedis(connection, 5_000);
  const delivered = new Set<string>();
  h.worker(
    "alpha",
    scriptedDelivery((query) => {
      delivered.add(query);
      return "deliver";
    }),
    { connection },
  );
  await h.enqueuer.enqueue(Buffer.from("before"), ingestFacts("n=before"), ["alpha"]);
  await pollUntil("the profile stored before the black hole to be delivered", () => delivered.has("n=before"));
  // The worker's blocking fetch and its other commands wait on connections that will never answer.
  await sleep(500);
  proxy.blackHoleOpenConnections();
  const started = Date.now();
  await h.enqueuer.enqueue(Buffer.from("during"), ingestFacts("n=during"), ["alpha"]);
  await pollUntil("the profile stored after the black hole to be delivered", () => delivered.has("n=during"), { timeoutMs: SILENCE_LIMIT_MS.worker + 30_000 });
  t.diagnostic(`delivered ${Date.now() - started} ms after the black hole`);
  assert.ok(proxy.passing >= 2, `the worker's connection and its blocking fetch on new connections (${proxy.passing})`);
});
