import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { pollUntil, startRedisServer, targetConfig } from "@pyroscope-relay/testing";
import type { ProfileFacts } from "./batch-data.js";
import { Enqueuer } from "./enqueuer.js";
import { RedisMemoryFullError, ReplicasMissingError } from "./errors.js";
import { createRedisConnection, waitForRedis } from "./redis-connection.js";
import { RedisGuard, type MasterShortOfReplicas, type RedisMemoryState } from "./redis-guard.js";

const server = await startRedisServer({ maxmemory: "8mb" });
const admin = createRedisConnection(server.url, "admin");
const producer = createRedisConnection(server.url, "producer");
producer.on("error", () => undefined);
await waitForRedis(producer, 2_000);
after(async () => {
  admin.disconnect();
  producer.disconnect();
  await server.stop();
});

const alpha = targetConfig("alpha", { maxBackoffRetries: 3 });

/**
 * Fills Redis to `share` of its maxmemory with `filler:<n>` keys, in small writes: the query buffer of
 * a single large write counts as used memory too, and would get that write refused.
 */
async function fill(share: number): Promise<void> {
  for (let n = 0; ; n++) {
    const info = await admin.info("memory");
    const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
    const max = Number(/^maxmemory:(\d+)/m.exec(info)?.[1]);
    if (used >= share * max) return;
    await admin.set(`filler:${n}`, randomBytes(Math.min(128 * 1024, Math.ceil(share * max - used))));
  }
}

async function dropFiller(): Promise<void> {
  const keys = await admin.keys("filler:*");
  if (keys.length > 0) await admin.del(...keys);
}

test("refuses enqueues near maxmemory, lets writes through again once memory frees", async (t) => {
  const changes: RedisMemoryState[] = [];
  const guard = new RedisGuard({ connection: producer, intervalMs: 20, onMemoryChange: (state) => changes.push(state) });
  const prefix = `m-${randomUUID()}`;
  const enqueuer = new Enqueuer({ connection: producer, prefix, payloadTtlMs: 60_000, targets: [alpha], guard });
  t.after(async () => {
    await guard.stop();
    await enqueuer.close();
    await dropFiller();
  });
  guard.start();
  await pollUntil("a first reading", () => guard.state !== undefined);
  assert.equal(guard.state?.memory.full, false);
  assert.equal(guard.state?.memory.maxBytes, 8 * 1024 * 1024);
  const data: ProfileFacts = { kind: "ingest", receivedAt: Date.now(), query: "name=app", contentTypes: [] };
  await enqueuer.enqueue(Buffer.from("before"), data, ["alpha"]);

  await fill(0.97);
  await pollUntil("the guard to close", () => guard.state?.memory.full === true);
  const keys = await admin.keys(`${prefix}:payload:*`);
  await assert.rejects(enqueuer.enqueue(Buffer.from("while full"), data, ["alpha"]), (error: unknown) => {
    assert.ok(error instanceof RedisMemoryFullError);
    assert.match(error.message, /Redis memory is at \d+% of maxmemory/);
    return true;
  });
  assert.deepEqual(await admin.keys(`${prefix}:payload:*`), keys, "nothing stored");

  await dropFiller();
  await pollUntil("the guard to open", () => guard.state?.memory.full === false);
  await enqueuer.enqueue(Buffer.from("after"), data, ["alpha"]);
  assert.deepEqual(
    changes.map((state) => state.full),
    [true, false],
  );
});

test("without maxmemory Redis is never full", async () => {
  const unlimited = await startRedisServer();
  const connection = createRedisConnection(unlimited.url, "admin");
  try {
    const { memory, shortOfReplicas } = await new RedisGuard({ connection }).poll();
    assert.equal(memory.maxBytes, 0);
    assert.equal(memory.full, false);
    assert.deepEqual(shortOfReplicas, [], "replicas are not read without --redis.min-replicas");
  } finally {
    connection.disconnect();
    await unlimited.stop();
  }
});

test("with --redis.min-replicas, a master short of replicas online refuses the flush before anything is written", async (t) => {
  const master = await startRedisServer({ tcp: true });
  const replica = await startRedisServer({ replicaOf: master });
  const connection = createRedisConnection(master.url, "producer");
  connection.on("error", () => undefined);
  const onMaster = createRedisConnection(master.url, "admin");
  const onReplica = createRedisConnection(replica.url, "admin");
  onReplica.on("error", () => undefined);
  const changes: MasterShortOfReplicas[][] = [];
  const guard = new RedisGuard({ connection, minReplicas: 1, intervalMs: 20, onReplicasChange: (short) => changes.push([...short]) });
  const prefix = `r-${randomUUID()}`;
  const enqueuer = new Enqueuer({
    connection,
    prefix,
    payloadTtlMs: 60_000,
    targets: [alpha],
    guard,
    replication: { minReplicas: 1, timeoutMs: 5_000 },
  });
  t.after(async () => {
    await guard.stop();
    await enqueuer.close();
    connection.disconnect();
    onMaster.disconnect();
    onReplica.disconnect();
    await replica.stop();
    await master.stop();
  });
  await waitForRedis(connection, 2_000);
  guard.start();
  await pollUntil("a first reading", () => guard.state !== undefined);
  assert.deepEqual(guard.state?.shortOfReplicas, []);
  const data: ProfileFacts = { kind: "ingest", receivedAt: Date.now(), query: "name=app", contentTypes: [] };
  await enqueuer.enqueue(Buffer.from("on two nodes"), data, ["alpha"]);
  const stored = await onMaster.keys(`${prefix}:*`);

  await replica.kill();
  await pollUntil("the guard to see the replica gone", () => guard.state?.shortOfReplicas.length === 1);
  const started = Date.now();
  await assert.rejects(enqueuer.enqueue(Buffer.from("master only"), data, ["alpha"]), (error: unknown) => {
    assert.ok(error instanceof ReplicasMissingError);
    assert.equal(error.message, "too few Redis replicas online for --redis.min-replicas 1 (redis has 0); nothing was stored");
    return true;
  });
  assert.ok(Date.now() - started < 2_000, "refused before WAIT could time out");
  assert.deepEqual((await onMaster.keys(`${prefix}:*`)).sort(), stored.sort(), "nothing written");

  await replica.restart();
  await pollUntil("the guard to see the replica back", () => guard.state?.shortOfReplicas.length === 0, { timeoutMs: 15_000 });
  await enqueuer.enqueue(Buffer.from("on two nodes again"), data, ["alpha"]);
  assert.deepEqual(changes, [[{ address: "redis", online: 0 }], []]);

  // Frozen, the replica stays `state=online` for Redis' repl-timeout (60 s), acknowledging nothing.
  const replicaPid = Number(/process_id:(\d+)/.exec(await onReplica.info("server"))?.[1]);
  const storedBeforeFreeze = await onMaster.keys(`${prefix}:*`);
  process.kill(replicaPid, "SIGSTOP");
  let frozen = true;
  t.after(() => {
    if (frozen) process.kill(replicaPid, "SIGCONT");
  });
  const frozenAt = Date.now();
  await pollUntil("the guard to count the frozen replica missing", () => guard.state?.shortOfReplicas.length === 1, { timeoutMs: 10_000 });
  t.diagnostic(`a frozen replica counted missing after ${Date.now() - frozenAt} ms`);
  assert.match(await onMaster.info("replication"), /state=online/, "Redis still lists it online");
  await assert.rejects(enqueuer.enqueue(Buffer.from("master only"), data, ["alpha"]), ReplicasMissingError);
  assert.deepEqual((await onMaster.keys(`${prefix}:*`)).sort(), storedBeforeFreeze.sort(), "nothing written");
  process.kill(replicaPid, "SIGCONT");
  frozen = false;
  await pollUntil("the guard to see the replica acknowledge again", () => guard.state?.shortOfReplicas.length === 0, { timeoutMs: 15_000 });
  await enqueuer.enqueue(Buffer.from("on two nodes once more"), data, ["alpha"]);
});
