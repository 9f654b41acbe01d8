import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test, type TestContext } from "node:test";
import type { TargetConfig } from "@pyroscope-relay/config";
import { startRedisServer } from "@pyroscope-relay/testing";
import { Enqueuer, type EnqueueData } from "./enqueuer.js";
import { BacklogFullError } from "./errors.js";
import { backlogBytesKey, payloadKey } from "./keys.js";
import { createRedisConnection, waitForRedis } from "./redis-connection.js";
import { TargetBacklog, type BacklogBounds } from "./target-backlog.js";
import { targetQueue } from "./target-queue.js";

const server = await startRedisServer();
const admin = createRedisConnection(server.url, "admin");
after(async () => {
  admin.disconnect();
  await server.stop();
});

function target(name: string): TargetConfig {
  return {
    name, writeLabel: name, endpointName: name, url: "http://127.0.0.1:1", remoteTimeoutMs: 10_000, headers: {},
    minBackoffMs: 500, maxBackoffMs: 300_000, maxBackoffRetries: 3, retryOnHttp429: true, auth: { kind: "none" }, externalLabels: {},
  };
}

const INGEST: EnqueueData = { kind: "ingest", receivedAt: 1_700_000_000_000, query: "name=app", contentTypes: [] };

async function producer(t: TestContext, backlog: BacklogBounds) {
  const prefix = `b-${randomUUID()}`;
  const connection = createRedisConnection(server.url, "producer");
  connection.on("error", () => undefined);
  const enqueuer = new Enqueuer({ connection, prefix, payloadTtlMs: 3_600_000, targets: [target("alpha"), target("beta")], backlog });
  const queues = { alpha: targetQueue(admin, prefix, "alpha"), beta: targetQueue(admin, prefix, "beta") };
  t.after(async () => {
    await enqueuer.close();
    await Promise.all([queues.alpha.close(), queues.beta.close()]);
    connection.disconnect();
  });
  await waitForRedis(connection, 2_000);
  return {
    prefix,
    enqueuer,
    jobs: async (name: "alpha" | "beta") => (await queues[name].getJobCounts("waiting")).waiting,
    bytes: async (name: string) => Number((await admin.get(backlogBytesKey(prefix, name))) ?? 0),
    payloads: async () => (await admin.keys(payloadKey(prefix, "*"))).filter((key) => !key.endsWith(":pending")).length,
  };
}

test("drop: a full target gets no job, the others get theirs; nothing is stored once every target is full", async (t) => {
  const p = await producer(t, { maxJobs: 2, maxBytes: 0, policy: "drop" });
  for (let i = 0; i < 2; i++) await p.enqueuer.enqueue(Buffer.alloc(10), INGEST, ["alpha"]);

  const partly = await p.enqueuer.enqueue(Buffer.alloc(7), INGEST, ["alpha", "beta"]);
  assert.deepEqual(partly.queued, ["beta"]);
  assert.deepEqual(partly.dropped, [{ target: "alpha", jobs: 2, bytes: 20 }]);
  assert.deepEqual(await admin.smembers(`${payloadKey(p.prefix, partly.payloadId)}:pending`), ["beta"], "the payload is owed to beta alone");
  assert.deepEqual([await p.jobs("alpha"), await p.jobs("beta")], [2, 1]);
  assert.deepEqual([await p.bytes("alpha"), await p.bytes("beta")], [20, 7], "the dropped profile is not counted");

  await p.enqueuer.enqueue(Buffer.alloc(7), INGEST, ["beta"]);
  const payloads = await p.payloads();
  const none = await p.enqueuer.enqueue(Buffer.alloc(5), INGEST, ["alpha", "beta"]);
  assert.deepEqual(none.queued, []);
  assert.deepEqual(none.dropped.map((full) => full.target), ["alpha", "beta"]);
  assert.equal(await p.payloads(), payloads, "nothing stored");
  assert.equal(await admin.exists(payloadKey(p.prefix, none.payloadId)), 0);
  assert.deepEqual([await p.jobs("alpha"), await p.jobs("beta")], [2, 2]);
});

test("reject: BacklogFullError naming the full target, and nothing stored or counted for any target", async (t) => {
  const p = await producer(t, { maxJobs: 1, maxBytes: 0, policy: "reject" });
  await p.enqueuer.enqueue(Buffer.alloc(10), INGEST, ["alpha"]);
  const payloads = await p.payloads();

  const error = await p.enqueuer.enqueue(Buffer.alloc(7), INGEST, ["alpha", "beta"]).catch((e: unknown) => e);
  assert.ok(error instanceof BacklogFullError);
  assert.deepEqual(error.targets, [{ target: "alpha", jobs: 1, bytes: 10 }]);
  assert.match(error.message, /target alpha \(1 of 1 jobs\)/);
  assert.equal(await p.payloads(), payloads);
  assert.deepEqual([await p.jobs("alpha"), await p.jobs("beta")], [1, 0]);
  assert.equal(await p.bytes("beta"), 0, "beta's reservation was given back");

  const beta = await p.enqueuer.enqueue(Buffer.alloc(7), INGEST, ["beta"]);
  assert.deepEqual(beta.queued, ["beta"], "a target with room still takes profiles sent to it alone");
});

test("the byte bound counts payload sizes; a profile may pass it once, the next finds it full", async (t) => {
  const p = await producer(t, { maxJobs: 0, maxBytes: 100, policy: "drop" });
  assert.deepEqual((await p.enqueuer.enqueue(Buffer.alloc(60), INGEST, ["alpha"])).queued, ["alpha"]);
  assert.deepEqual((await p.enqueuer.enqueue(Buffer.alloc(60), INGEST, ["alpha"])).queued, ["alpha"]);
  const full = await p.enqueuer.enqueue(Buffer.alloc(1), INGEST, ["alpha"]);
  assert.deepEqual(full.dropped, [{ target: "alpha", jobs: 2, bytes: 120 }]);
  assert.equal(await p.bytes("alpha"), 120);
});

test("jobs are counted from BullMQ's states: delayed ones count, failed ones do not", async (t) => {
  const p = await producer(t, { maxJobs: 2, maxBytes: 0, policy: "drop" });
  const backlog = new TargetBacklog(admin, p.prefix, "alpha");
  const queue = targetQueue(admin, p.prefix, "alpha");
  t.after(() => queue.close());
  await queue.add("ingest", { ...INGEST, payloadId: "later", payloadSize: 1 }, { jobId: "later", delay: 60_000 });
  const failed = await queue.add("ingest", { ...INGEST, payloadId: "refused", payloadSize: 1 }, { jobId: "refused" });
  await admin.zadd(queue.toKey("failed"), Date.now(), failed.id!);
  await admin.lrem(queue.toKey("wait"), 0, failed.id!);
  assert.deepEqual(await backlog.reserve(5, { maxJobs: 2, maxBytes: 0 }), { admitted: true, jobs: 1, bytes: 0 });
});

test("release clamps at 0 and deletes the counter; a counter left over with an empty queue is reset", async (t) => {
  const p = await producer(t, { maxJobs: 0, maxBytes: 50, policy: "drop" });
  const backlog = new TargetBacklog(admin, p.prefix, "alpha");
  await backlog.add(30);
  await backlog.release(40);
  assert.equal(await admin.exists(backlogBytesKey(p.prefix, "alpha")), 0);

  // As if a writer died between a delivery and its decrement: the counter says full, the queue is empty.
  await backlog.add(1_000);
  assert.deepEqual(await backlog.reserve(8, { maxJobs: 0, maxBytes: 50 }), { admitted: true, jobs: 0, bytes: 0 });
  assert.equal(await p.bytes("alpha"), 8);
});

test("without bounds (both 0) nothing is checked or counted", async (t) => {
  const p = await producer(t, { maxJobs: 0, maxBytes: 0, policy: "reject" });
  for (let i = 0; i < 3; i++) assert.deepEqual((await p.enqueuer.enqueue(Buffer.alloc(10), INGEST, ["alpha"])).queued, ["alpha"]);
  assert.equal(await admin.exists(backlogBytesKey(p.prefix, "alpha")), 0);
});
