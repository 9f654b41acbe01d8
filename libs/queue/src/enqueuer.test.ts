import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, test, type TestContext } from "node:test";
import type { TargetConfig } from "@pyroscope-relay/config";
import { startRedisServer, type RedisServerHandle } from "@pyroscope-relay/testing";
import type { Redis } from "ioredis";
import { Enqueuer, TARGET_BACKOFF, UNBOUNDED_ATTEMPTS, type EnqueueData } from "./enqueuer.js";
import { InvalidTargetsError, QueueUnavailableError } from "./errors.js";
import { jobData } from "./job-data.js";
import { payloadKey, pendingKey, queueNameFor } from "./keys.js";
import { createRedisConnection, waitForRedis } from "./redis-connection.js";
import { targetQueue } from "./target-queue.js";

const server = await startRedisServer();
const admin = createRedisConnection(server.url, "admin");
after(async () => {
  admin.disconnect();
  await server.stop();
});

function target(name: string, maxBackoffRetries = 10): TargetConfig {
  return {
    name, writeLabel: name.split("/")[0] ?? name, endpointName: name, url: "http://127.0.0.1:1",
    remoteTimeoutMs: 10_000, headers: {}, minBackoffMs: 500, maxBackoffMs: 300_000, maxBackoffRetries,
    retryOnHttp429: true, auth: { kind: "none" }, externalLabels: {},
  };
}

const INGEST: EnqueueData = {
  kind: "ingest", receivedAt: 1_700_000_000_000, tenant: "tenant-a",
  query: "name=app%7B%7D&format=pprof", contentTypes: ["application/octet-stream"],
};

/** A producer connection and an enqueuer under a prefix of their own, closed after the test. */
async function producer(t: TestContext, targets: TargetConfig[], redis: RedisServerHandle = server) {
  const prefix = `t-${randomUUID()}`;
  const connection = createRedisConnection(redis.url, "producer");
  connection.on("error", () => undefined);
  const enqueuer = new Enqueuer({ connection, prefix, payloadTtlMs: 3_600_000, targets });
  t.after(async () => {
    await enqueuer.close();
    connection.disconnect();
  });
  await waitForRedis(connection, 2_000);
  return { prefix, connection, enqueuer };
}

async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  return redis.keys(`${prefix}:*`);
}

test("stores the payload once, whatever the number of targets", async (t) => {
  const { prefix, enqueuer } = await producer(t, [target("alpha"), target("beta"), target("gamma/0")]);
  const payload = randomBytes(200 * 1024);
  const { payloadId } = await enqueuer.enqueue(payload, INGEST, ["alpha", "beta", "gamma/0"]);
  // Every key the enqueue created (payload, pending set, jobs, queue bookkeeping). used_memory would
  // also count the connection's transient query buffer, about one more payload.
  let stored = 0;
  for (const key of await keysUnder(admin, prefix)) stored += (await admin.memory("USAGE", key, "SAMPLES", "0")) ?? 0;
  t.diagnostic(`payload ${payload.length} B to 3 targets: Redis keys use ${stored} B (${(stored / payload.length).toFixed(2)}x)`);
  assert.ok(stored < 1.5 * payload.length, `stored ${stored} B`);
  assert.deepEqual(await admin.getBuffer(payloadKey(prefix, payloadId)), payload);
  assert.deepEqual((await admin.smembers(pendingKey(prefix, payloadId))).sort(), ["alpha", "beta", "gamma/0"]);
});

test("adds one job per target, id = payload id, data without bytes", async (t) => {
  const { prefix, enqueuer } = await producer(t, [target("alpha", 5), target("beta/1", 0)]);
  const { payloadId } = await enqueuer.enqueue(Buffer.from("folded 1\n"), INGEST, ["alpha", "beta/1"]);
  assert.doesNotMatch(payloadId, /:/);
  for (const [name, attempts] of [["alpha", 5], ["beta/1", UNBOUNDED_ATTEMPTS]] as const) {
    const queue = targetQueue(admin, prefix, name);
    t.after(() => queue.close());
    assert.equal(queue.name, queueNameFor(name));
    assert.deepEqual(await queue.getJobCounts("waiting"), { waiting: 1 });
    const job = await queue.getJob(payloadId);
    assert.ok(job, name);
    assert.equal(job.name, "ingest");
    assert.deepEqual(jobData.parse(job.data), { ...INGEST, payloadId, payloadSize: 9 });
    assert.equal(job.opts.attempts, attempts);
    assert.deepEqual(job.opts.backoff, { type: TARGET_BACKOFF });
    assert.equal(job.opts.removeOnComplete, true);
    assert.equal(job.opts.removeOnFail, false);
  }
});

test("refuses no, repeated or unknown targets before storing anything", async (t) => {
  const { prefix, enqueuer } = await producer(t, [target("alpha")]);
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
  assert.throws(() => new Enqueuer({ connection: admin, prefix: "ttl", payloadTtlMs: 0, targets: [target("alpha")] }), RangeError);
});

test("a failed add releases that target's claim and answers QueueUnavailableError", async (t) => {
  const { prefix, enqueuer } = await producer(t, [target("ok"), target("broken")]);
  // A queue whose meta hash is a string makes BullMQ's add script fail with WRONGTYPE.
  await admin.set(`${prefix}:${queueNameFor("broken")}:meta`, "not a hash");
  const failure = await enqueuer.enqueue(Buffer.from("x"), INGEST, ["ok", "broken"]).catch((error: unknown) => error);
  assert.ok(failure instanceof QueueUnavailableError);
  assert.match(failure.message, /for broken: .*WRONGTYPE/);
  const stored = await admin.keys(`${prefix}:payload:*`);
  const id = /\{(.+)\}/.exec(stored[0] ?? "")?.[1] ?? "";
  assert.deepEqual(stored.sort(), [payloadKey(prefix, id), pendingKey(prefix, id)], "kept for the target that got its job");
  assert.deepEqual(await admin.smembers(pendingKey(prefix, id)), ["ok"]);

  // When no add succeeds, nothing of that attempt stays.
  await assert.rejects(enqueuer.enqueue(Buffer.from("y"), INGEST, ["broken"]), QueueUnavailableError);
  assert.deepEqual((await admin.keys(`${prefix}:payload:*`)).sort(), stored);
});

test("Redis refusing the payload (OOM) is QueueUnavailableError and stores nothing", async (t) => {
  const small = await startRedisServer({ maxmemory: "2mb" });
  const { prefix, connection, enqueuer } = await producer(t, [target("alpha")], small);
  t.after(() => small.stop());
  await assert.rejects(enqueuer.enqueue(randomBytes(4 * 1024 * 1024), INGEST, ["alpha"]), (error: unknown) => {
    assert.ok(error instanceof QueueUnavailableError);
    assert.match(error.message, /could not store payload: .*OOM/);
    return true;
  });
  assert.deepEqual(await keysUnder(connection, prefix), []);
});

test("fails within 2 s while Redis is down, and works again once it is back", async (t) => {
  const own = await startRedisServer();
  const { connection, enqueuer } = await producer(t, [target("alpha"), target("beta")], own);
  await own.kill();
  // An enqueuer created while Redis is down must work once it is back, too.
  const lateConnection = createRedisConnection(own.url, "producer");
  lateConnection.on("error", () => undefined);
  const late = new Enqueuer({ connection: lateConnection, prefix: "late", payloadTtlMs: 60_000, targets: [target("alpha")] });
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
  assert.ok(elapsed < 2_000, `took ${elapsed} ms`);

  await own.restart();
  await Promise.all([waitForRedis(connection, 5_000), waitForRedis(lateConnection, 5_000)]);
  assert.ok((await enqueuer.enqueue(Buffer.from("x"), INGEST, ["alpha", "beta"])).payloadId);
  assert.ok((await late.enqueue(Buffer.from("x"), INGEST, ["alpha"])).payloadId);
});
