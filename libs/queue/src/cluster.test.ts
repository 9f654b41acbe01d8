// The queue on a real Redis Cluster (3 masters, 3 replicas on loopback): every flush, job step and
// operator command touches keys of one slot per script or MULTI, batches and queue shards spread
// over the masters, and replicas confirm what ingest acknowledges.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { after, test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, pollUntil, startRedisCluster, startNetworkFaultProxy, targetConfig } from "@pyroscope-relay/testing";
import type { Cluster } from "ioredis";
import { masterServing, refreshSlots, slotOf } from "./cluster-masters.js";
import { BatchStore, GONE_RECHECK_MS } from "./batch-store.js";
import { batchRefsKey, chunkKey, pendingKey, shardOf } from "./keys.js";
import { checkRedisDurability } from "./durability.js";
import { Enqueuer } from "./enqueuer.js";
import { QueueShardsMismatchError, QueueUnavailableError, ReplicasMissingError, ReplicationError } from "./errors.js";
import { FailedJobRetention } from "./failed-retention.js";
import { summarizeFailed } from "./failed-summary.js";
import { purgeFailed } from "./purge.js";
import { PendingSegments } from "./pending-segments.js";
import { readQueueShards, recordQueueShards } from "./queue-shards-record.js";
import { QueueShardsWatch } from "./queue-shards-watch.js";
import { httpFailure, ingestFacts, PAYLOAD_TTL_MS, queueHarness, scriptedDelivery, type QueueHarness } from "./queue-harness.js";
import { createRedisConnection, isCluster, mastersOf, waitForRedis, type RedisRole } from "./redis-connection.js";
import { RedisGuard } from "./redis-guard.js";
import { replayFailed } from "./replay.js";
import { readTargetBacklog } from "./target-backlog.js";
import { readTargetStates } from "./target-state.js";
import { CrossSlotTransactionError, RedisNotReadyError, runTransaction, Transaction } from "./transaction.js";

const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
after(() => cluster.stop());
const endpoint = { clusterNodes: cluster.seeds };
const SHARDS = 4;

/** A cluster client of `role` for one test, disconnected after it; its errors reach the test through its calls. */
function clusterClient(t: TestContext, role: RedisRole): Cluster {
  const connection = createRedisConnection(endpoint, role);
  connection.on("error", () => undefined);
  t.after(() => connection.disconnect());
  assert.ok(isCluster(connection));
  return connection;
}

/** The same, once it is ready: it knows which master serves which slot. */
async function readyClusterClient(t: TestContext, role: RedisRole): Promise<Cluster> {
  const connection = clusterClient(t, role);
  await waitForRedis(connection, 5_000);
  return connection;
}

async function backlog(h: QueueHarness, target: string): Promise<number> {
  return (await readTargetBacklog(h.connection, h.prefix, target, SHARDS)).profiles;
}

test("flushes store each batch in its slot and each job on its target's shard; writers deliver it all and release the chunks", async (t) => {
  const h = await queueHarness(t, endpoint, ["alpha", "beta"], { shards: SHARDS });
  assert.ok(isCluster(h.connection));
  const batches = new Set<string>();
  for (let round = 0; round < 10; round++) {
    // Concurrent requests: one flush, one batch, one segment per target.
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => h.enqueuer.enqueue(Buffer.alloc(2_000, round * 8 + i), ingestFacts(`n=${round * 8 + i}`), ["alpha", "beta"])),
    );
    assert.equal(new Set(results.map((r) => r.batchId)).size, 1);
    batches.add(results[0]!.batchId);
  }
  for (const id of batches) {
    assert.notEqual(await h.connection.getBuffer(chunkKey(h.prefix, id, 0)), null, `batch ${id} stored`);
    for (const target of ["alpha", "beta"]) {
      const pending = await new PendingSegments(h.connection, h.prefix, target, shardOf(id, SHARDS)).list();
      assert.ok(
        pending.some((segment) => segment.batch === id),
        `${target}: batch ${id} waits on its shard`,
      );
    }
  }
  assert.equal(await backlog(h, "alpha"), 80);
  // Batches and queue shards spread over the masters.
  const keysPerMaster = await Promise.all(mastersOf(h.connection).map((master) => master.dbsize()));
  assert.ok(
    keysPerMaster.every((keys) => keys > 0),
    `a master holds nothing: ${keysPerMaster.join(", ")}`,
  );

  const delivered = { alpha: new Set<string>(), beta: new Set<string>() };
  for (const target of ["alpha", "beta"] as const)
    h.worker(
      target,
      scriptedDelivery((query) => {
        delivered[target].add(query);
        return "deliver";
      }),
    );
  await pollUntil(
    "both targets drained",
    async () => delivered.alpha.size === 80 && delivered.beta.size === 80 && (await backlog(h, "alpha")) + (await backlog(h, "beta")) === 0,
    { timeoutMs: 15_000 },
  );
  await pollUntil(
    "chunks released by the last target",
    async () => {
      const left = await Promise.all([...batches].map((id) => h.connection.exists(chunkKey(h.prefix, id, 0))));
      return left.every((exists) => exists === 0);
    },
    { timeoutMs: 15_000 },
  );
});

test("a poison profile fails alone; failed, replay, purge and retention work across slots and shards", async (t) => {
  const h = await queueHarness(t, endpoint, ["alpha"], { shards: SHARDS });
  const ids = await h.fail(
    "alpha",
    Array.from({ length: 8 }, (_, i) => httpFailure(400, `bad ${i}`)),
  );
  const summary = await summarizeFailed(h.connection, h.prefix, "alpha", SHARDS);
  assert.equal(summary.batches, 8);
  assert.equal(summary.profiles, 8);

  assert.deepEqual(
    await replayFailed({ connection: h.connection, prefix: h.prefix, target: "alpha", shards: SHARDS, payloadTtlMs: PAYLOAD_TTL_MS, limit: 2 }),
    { replayed: 2, replayedProfiles: 2, skipped: 0, notMatched: 0 },
  );
  const delivered: string[] = [];
  h.worker(
    "alpha",
    scriptedDelivery((query) => {
      delivered.push(query);
      return "deliver";
    }),
  );
  await pollUntil("the replayed batches delivered", async () => delivered.length === 2, { timeoutMs: 15_000 });

  const retention = new FailedJobRetention({
    connection: h.connection,
    prefix: h.prefix,
    targets: ["alpha"],
    shards: SHARDS,
    maxAgeMs: 86_400_000,
    maxCount: 4,
    onError: (error) => assert.fail(error),
  });
  t.after(() => retention.stop());
  assert.deepEqual(await retention.sweep(), [{ target: "alpha", removed: 2, payloadsDeleted: 2 }]);
  assert.deepEqual(await purgeFailed({ connection: h.connection, prefix: h.prefix, target: "alpha", shards: SHARDS }), {
    purged: 4,
    purgedProfiles: 4,
    payloadsDeleted: 4,
  });
  for (const id of ids) assert.ok(["unknown"].includes(await h.queue("alpha", id).getJobState(id)), `job ${id} gone`);
  const [state] = await readTargetStates(h.connection, h.prefix, ["alpha"], SHARDS);
  assert.equal(state!.jobs.failed, 0);
  assert.equal(state!.deliveredProfiles, 2);
  assert.deepEqual(state!.discarded, { retention: { profiles: 2, bytes: 18 }, purge: { profiles: 4, bytes: 36 } });
});

test("a target's state sums the shards on every master: jobs waiting, backlog, oldest age, the circuit's pause", async (t) => {
  const h = await queueHarness(t, endpoint, ["alpha"], { shards: SHARDS });
  for (let i = 0; i < 12; i++) await h.enqueuer.enqueue(Buffer.alloc(10), ingestFacts(`n=${i}`), ["alpha"]);
  const [waiting] = await readTargetStates(h.connection, h.prefix, ["alpha"], SHARDS);
  assert.equal(waiting!.jobs.waiting, 12);
  assert.deepEqual(waiting!.backlog, { profiles: 12, bytes: 120 });
  assert.notEqual(waiting!.oldestWaitingAgeMs, null);
  assert.equal(waiting!.circuitOpenUntil, null);
  h.worker(
    "alpha",
    scriptedDelivery(() => ({ retry: httpFailure(503), pauseMs: 30_000 })),
  );
  await pollUntil("the pause", async () => (await readTargetStates(h.connection, h.prefix, ["alpha"], SHARDS))[0]!.circuitOpenUntil! > Date.now() + 20_000, {
    timeoutMs: 15_000,
  });
});

test("the deployment's queue shard count is recorded, raised and checked on a cluster, whatever the slot of its key", async (t) => {
  const admin = await readyClusterClient(t, "admin");
  const prefix = `shards-${randomUUID()}`;
  assert.deepEqual(await recordQueueShards(admin, prefix, 2, { raise: true }), { before: undefined, recorded: 2 });
  assert.deepEqual(await recordQueueShards(admin, prefix, SHARDS, { raise: true }), { before: 2, recorded: SHARDS });
  await assert.rejects(recordQueueShards(admin, prefix, 1, { raise: false }), QueueShardsMismatchError);
  assert.equal(await readQueueShards(admin, prefix), SHARDS);
  assert.equal((await new QueueShardsWatch({ connection: admin, prefix, shards: 2 }).poll())?.recorded, SHARDS);
});

test("a flush's MULTI whose replies the connection lost fails, runs once, and the next one goes to the master again", async (t) => {
  const admin = await readyClusterClient(t, "admin");
  const tag = `{t-${Date.now()}}`;
  const [pending, backlog] = [`${tag}:pending`, `${tag}:backlog`];
  const master = masterServing(admin, slotOf(pending))!;
  const [host, port] = master.address.split(":") as [string, string];
  const proxy = await startNetworkFaultProxy({ host, port: Number(port) }, { host: "127.0.0.1", port: await freePort() });
  t.after(() => proxy.close());
  const producer = clusterClient(t, "producer");
  // Before the client first asks for the slots: it reaches that master through the proxy only.
  producer.options.natMap = { [master.address]: proxy.address };
  await waitForRedis(producer, 5_000);
  const flush = () => new Transaction().add("rpush", pending, "segment").add("hincrby", backlog, "profiles", 1);
  assert.deepEqual(await runTransaction(producer, flush()), [
    [null, 1],
    [null, 1],
  ]);

  proxy.loseNextReply();
  await assert.rejects(runTransaction(producer, flush()), /connection close|Connection is closed/);
  // ioredis' Pipeline sent such a MULTI again once the slot's master was reachable: give it that time.
  await sleep(1_000);
  assert.deepEqual(await admin.lrange(pending, 0, -1), ["segment", "segment"], "run once, not again");
  assert.equal(await admin.hget(backlog, "profiles"), "2");

  assert.deepEqual(await runTransaction(producer, flush()), [
    [null, 3],
    [null, 3],
  ]);
});

test("a MULTI sent to a master that no longer serves its slot is redirected: it runs once, where the slot is", async (t) => {
  const producer = clusterClient(t, "producer");
  await assert.rejects(runTransaction(producer, new Transaction().add("set", "{early}:x", "1")), RedisNotReadyError, "not ready yet: nothing sent");
  await waitForRedis(producer, 5_000);
  const tag = `{t-${Date.now()}}`;
  const [list, count] = [`${tag}:list`, `${tag}:count`];
  const slot = slotOf(list);
  const serving = masterServing(producer, slot)!.address;
  const flush = () => new Transaction().add("rpush", list, "segment").add("incr", count);
  const refreshes = t.mock.method(producer, "refreshSlotsCache");
  // As after a failover or a resharding the client has not heard of yet: MOVED, nothing ran.
  producer.slots[slot] = [
    producer
      .nodes("master")
      .map((node) => `${node.options.host}:${node.options.port}`)
      .find((address) => address !== serving)!,
  ];
  const moved = flush();
  assert.deepEqual(await runTransaction(producer, moved), [
    [null, 1],
    [null, 1],
  ]);
  assert.equal(refreshes.mock.callCount(), 1, "MOVED: the slot map renewed once");
  assert.equal(moved.master?.address, serving, "ran where the slot is: WAIT goes there");
  // A master the client has no connection to.
  producer.slots[slot] = ["127.0.0.1:1"];
  assert.deepEqual(await runTransaction(producer, flush()), [
    [null, 2],
    [null, 2],
  ]);
  assert.equal(refreshes.mock.callCount(), 2);
  assert.equal(masterServing(producer, slot)?.address, serving, "the slot map renewed");
  assert.deepEqual(await producer.lrange(list, 0, -1), ["segment", "segment"]);

  const crossSlot = new Transaction().add("rpush", list, "segment").add("incr", `{other-${tag}}:count`);
  await assert.rejects(runTransaction(producer, crossSlot), CrossSlotTransactionError);
  assert.equal(await producer.llen(list), 2, "nothing sent");
});

test("a MULTI whose master cannot be reached never left the client: it goes again after the slot map is renewed, then fails", async (t) => {
  const tag = `{t-${Date.now()}}`;
  const list = `${tag}:list`;
  const admin = await readyClusterClient(t, "admin");
  const serving = masterServing(admin, slotOf(list))!.address;
  const producer = clusterClient(t, "producer");
  // Before the client first asks for the slots: the slot's master, as it is told, hangs up at once.
  const hangUp = createServer((socket) => socket.destroy()).listen(await freePort(), "127.0.0.1");
  await once(hangUp, "listening");
  t.after(() => hangUp.close());
  producer.options.natMap = { [serving]: { host: "127.0.0.1", port: (hangUp.address() as AddressInfo).port } };
  await waitForRedis(producer, 5_000);
  const refreshes = t.mock.method(producer, "refreshSlotsCache");
  await assert.rejects(runTransaction(producer, new Transaction().add("rpush", list, "segment")), /Connection is closed/);
  assert.equal(refreshes.mock.callCount(), 2, "sent three times, the slot map renewed in between");
  assert.equal(await admin.exists(list), 0);

  producer.options.natMap = {};
  assert.deepEqual(await runTransaction(producer, new Transaction().add("rpush", list, "segment")), [[null, 1]]);
});

test("a flush whose target's master cannot be reached fails, and lets go of its batch at once: nothing left for the TTL", async (t) => {
  const admin = await readyClusterClient(t, "admin");
  const prefix = `leak-${Date.now()}`;
  const serving = masterServing(admin, slotOf(pendingKey(prefix, "alpha")))!.address;
  const hangUp = createServer((socket) => socket.destroy()).listen(await freePort(), "127.0.0.1");
  await once(hangUp, "listening");
  t.after(() => hangUp.close());
  const producer = clusterClient(t, "producer");
  // Before the client first asks for the slots: alpha's master, as it is told, hangs up at once.
  producer.options.natMap = { [serving]: { host: "127.0.0.1", port: (hangUp.address() as AddressInfo).port } };
  await waitForRedis(producer, 5_000);
  const enqueuer = new Enqueuer({ connection: producer, prefix, payloadTtlMs: PAYLOAD_TTL_MS, targets: [targetConfig("alpha")] });
  for (let i = 0; i < 6; i++) {
    await assert.rejects(enqueuer.enqueue(Buffer.alloc(1_000, i), ingestFacts(), ["alpha"]), QueueUnavailableError);
  }
  await enqueuer.close();
  const left = (await Promise.all(admin.nodes("master").map((node) => node.keys(`${prefix}:batch:*`)))).flat();
  assert.deepEqual(left, [], "no chunk, reference or claim of a batch whose segment was never stored");
});

test("a MULTI for a slot on its way to another master follows the ASK there, and runs once", async (t) => {
  const admin = await readyClusterClient(t, "admin");
  const tag = `{t-${Date.now()}}`;
  const list = `${tag}:list`;
  const slot = slotOf(list);
  const source = masterServing(admin, slot)!;
  const destination = admin.nodes("master").find((node) => `${node.options.host}:${node.options.port}` !== source.address)!;
  const [sourceId, destinationId] = await Promise.all([source.connection.cluster("MYID"), destination.cluster("MYID")]);
  // Half-way through a resharding: keys not on the source any more (or new ones) are asked of the destination.
  await destination.cluster("SETSLOT", slot, "IMPORTING", String(sourceId));
  await source.connection.cluster("SETSLOT", slot, "MIGRATING", String(destinationId));
  t.after(async () => {
    for (const node of admin.nodes("master")) await node.cluster("SETSLOT", slot, "NODE", String(destinationId));
  });
  const producer = await readyClusterClient(t, "producer");
  const transaction = new Transaction().add("rpush", list, "segment").add("rpush", list, "more");
  assert.deepEqual(await runTransaction(producer, transaction), [
    [null, 1],
    [null, 2],
  ]);
  assert.equal(transaction.master?.address, `${destination.options.host}:${destination.options.port}`);
  assert.equal(await source.connection.cluster("COUNTKEYSINSLOT", slot), 0, "nothing on the source");
  assert.deepEqual(await destination.pipeline().asking().lrange(list, 0, -1).exec(), [
    [null, "OK"],
    [null, ["segment", "more"]],
  ]);
});

test("a MULTI of several keys for a slot half-way to another master waits out TRYAGAIN, and runs once the slot has moved", async (t) => {
  const admin = await readyClusterClient(t, "admin");
  const tag = `{t-${Date.now()}-keys}`;
  const slot = slotOf(`${tag}:pending`);
  const source = masterServing(admin, slot)!;
  const destination = admin.nodes("master").find((node) => `${node.options.host}:${node.options.port}` !== source.address)!;
  const [sourceId, destinationId] = await Promise.all([source.connection.cluster("MYID"), destination.cluster("MYID")]);
  await destination.cluster("SETSLOT", slot, "IMPORTING", String(sourceId));
  await source.connection.cluster("SETSLOT", slot, "MIGRATING", String(destinationId));
  const moved = async () => {
    for (const node of admin.nodes("master")) await node.cluster("SETSLOT", slot, "NODE", String(destinationId));
  };
  t.after(moved);
  const producer = await readyClusterClient(t, "producer");
  // A flush's segment: keys that exist nowhere yet, so the source asks the destination, which
  // answers TRYAGAIN to several keys until the slot is its own.
  const transaction = new Transaction().add("rpush", `${tag}:pending`, "segment").add("hincrby", `${tag}:backlog`, "profiles", 1);
  const running = runTransaction(producer, transaction);
  await sleep(300);
  await moved();
  assert.deepEqual(await running, [
    [null, 1],
    [null, 1],
  ]);
  assert.equal(transaction.master?.address, `${destination.options.host}:${destination.options.port}`);
  assert.deepEqual(await destination.lrange(`${tag}:pending`, 0, -1), ["segment"], "once");
});

test("a master stuck in its ready check (loading its data) refuses the next MULTI after the command timeout, sent nowhere", async (t) => {
  const admin = await readyClusterClient(t, "admin");
  const list = `{t-${Date.now()}}:list`;
  const serving = masterServing(admin, slotOf(list))!.address;
  // Answers every command as INFO does on a Redis that loads its data for another minute.
  const loading = "# Persistence\r\nloading:1\r\nloading_eta_seconds:60\r\n";
  const sockets: Socket[] = [];
  const loader = createServer((socket) => {
    sockets.push(socket.on("error", () => undefined));
    socket.on("data", (data: Buffer) => {
      for (const _ of data.toString().matchAll(/^\*\d+\r$/gm)) socket.write(`$${loading.length}\r\n${loading}\r\n`);
    });
  }).listen(await freePort(), "127.0.0.1");
  await once(loader, "listening");
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    loader.close();
  });
  // Ready against the real cluster first: ioredis' own ready check (CLUSTER INFO, to any node) and
  // its slot refreshes (CLUSTER SLOTS, to any node) would stall or fail on the fake master. Then the
  // slot's master is mapped to it, and no refresh runs on a timer meanwhile.
  const producer = clusterClient(t, "producer");
  producer.options.slotsRefreshInterval = 0;
  await waitForRedis(producer, 5_000);
  producer.options.natMap = { [serving]: { host: "127.0.0.1", port: (loader.address() as AddressInfo).port } };
  await refreshSlots(producer);
  assert.equal(masterServing(producer, slotOf(list))?.connection.options.port, (loader.address() as AddressInfo).port, "the slot's master is the fake one");
  const flush = () => new Transaction().add("rpush", list, "segment");
  await assert.rejects(runTransaction(producer, flush()), /Command timed out/, "queued while connecting, then timed out");
  assert.equal(masterServing(producer, slotOf(list))?.connection.status, "connect", "still in its ready check");
  const startedAt = Date.now();
  await assert.rejects(runTransaction(producer, flush()), RedisNotReadyError);
  const waited = Date.now() - startedAt;
  assert.ok(waited >= 1_400 && waited < 5_000, `waited ${waited} ms: about the command timeout (1.5 s)`);
  assert.equal(await admin.exists(list), 0);
});

test("with --redis.min-replicas, a flush counts once every master it wrote to has its replicas confirm it", async (t) => {
  const connection = await readyClusterClient(t, "producer");
  const prefix = `t-${Date.now()}`;
  const open = (minReplicas: number) => {
    const enqueuer = new Enqueuer({
      connection,
      prefix,
      payloadTtlMs: 60_000,
      targets: [targetConfig("alpha", { maxBackoffRetries: 3 }), targetConfig("beta", { maxBackoffRetries: 3 })],
      queueShards: SHARDS,
      replication: { minReplicas, timeoutMs: 300 },
    });
    t.after(() => enqueuer.close());
    return enqueuer;
  };
  const confirmed = await open(1).enqueue(Buffer.from("held by a replica"), ingestFacts(), ["alpha", "beta"]);
  assert.deepEqual(confirmed.queued, ["alpha", "beta"]);

  // Each master has one replica: two can never confirm.
  const refused = await open(2)
    .enqueue(Buffer.from("not enough replicas"), ingestFacts(), ["alpha"])
    .then(
      () => assert.fail("acknowledged without two replicas"),
      (error: unknown) => error,
    );
  assert.ok(refused instanceof QueueUnavailableError);
  assert.ok(refused.cause instanceof ReplicationError);
  assert.match(refused.message, /1 of 2 replica\(s\) of 127\.0\.0\.1:\d+ confirmed the write within 300 ms/);
});

test("with --redis.min-replicas, flushes write around a master whose replica is gone; a target with every shard there is refused alone", async (t) => {
  const connection = await readyClusterClient(t, "producer");
  const admin = await readyClusterClient(t, "admin");
  const masters = await cluster.masters();
  const replica = cluster.nodes.find((node) => !masters.some((master) => master.address === node.address))!;
  const guard = new RedisGuard({ connection, minReplicas: 1, intervalMs: 20 });
  const prefix = `t-${randomUUID()}`;
  t.after(async () => {
    await guard.stop();
    await replica.restart();
    await cluster.waitHealthy();
  });
  guard.start();
  await replica.kill();
  const short = await pollUntil("a master short of its replica", () => guard.state?.shortOfReplicas[0]);
  assert.equal(short.online, 0);
  const onShort = (key: string) => connection.slots[slotOf(key)]?.[0] === short.address;
  const targets = ["alpha", "beta"];
  const enqueuer = new Enqueuer({
    connection,
    prefix,
    payloadTtlMs: 60_000,
    targets: targets.map((name) => targetConfig(name, { maxBackoffRetries: 3 })),
    queueShards: SHARDS,
    guard,
    replication: { minReplicas: 1, timeoutMs: 2_000 },
  });
  t.after(() => enqueuer.close());
  const pendingOnShort = targets.flatMap((name) => Array.from({ length: SHARDS }, (_, shard) => pendingKey(prefix, name, shard))).filter(onShort);
  const lengths = () => Promise.all(pendingOnShort.map((key) => admin.llen(key)));
  const before = await lengths();
  const outcomes = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => enqueuer.enqueue(Buffer.from(`profile ${i}`), ingestFacts(), targets)));
  for (const outcome of outcomes) {
    assert.equal(outcome.status, "fulfilled", String((outcome as PromiseRejectedResult).reason));
    const { batchId } = (outcome as PromiseFulfilledResult<{ batchId: string }>).value;
    assert.ok(!onShort(chunkKey(prefix, batchId, 0)), `batch ${batchId} written to the master without a replica`);
  }
  assert.deepEqual(await lengths(), before, "no segment on the master without a replica");
  const stored = await Promise.all(targets.map(async (name) => (await readTargetBacklog(admin, prefix, name, SHARDS)).profiles));
  assert.deepEqual(stored, [30, 30]);

  // With one queue shard a target's queue is on one master: a profile for a target whose queue is on
  // the short master is refused alone, one that joins it in the same flush stored.
  const names = Array.from({ length: 200 }, (_, i) => `target${i}`);
  const fine = names.find((name) => !onShort(pendingKey(prefix, name)))!;
  const stranded = names.find((name) => onShort(pendingKey(prefix, name)))!;
  const single = new Enqueuer({
    connection,
    prefix: `${prefix}-single`,
    payloadTtlMs: 60_000,
    targets: [fine, stranded].map((name) => targetConfig(name, { maxBackoffRetries: 3 })),
    guard,
    replication: { minReplicas: 1, timeoutMs: 2_000 },
  });
  t.after(() => single.close());
  const [kept, refused] = await Promise.allSettled([
    single.enqueue(Buffer.from("for the target on a master with its replica"), ingestFacts(), [fine]),
    single.enqueue(Buffer.from("for both"), ingestFacts(), [fine, stranded]),
  ]);
  assert.equal(kept.status, "fulfilled", String((kept as PromiseRejectedResult).reason));
  assert.equal(refused.status, "rejected");
  const reason = (refused as PromiseRejectedResult).reason as Error;
  assert.ok(reason instanceof ReplicasMissingError);
  assert.equal(
    reason.message,
    `too few Redis replicas online for --redis.min-replicas 1 (${short.address} has 0): every queue shard of target ${stranded} is on a master short of them; nothing was stored`,
  );
});

test("a batch whose references read as gone is read again a moment later: a resumed master's stale answer drops no profile", async (t) => {
  const connection = await readyClusterClient(t, "worker");
  const prefix = `t-${randomUUID()}`;
  const store = new BatchStore(connection, prefix);
  const ref = { ...ingestFacts(), index: 0, offset: 0, size: 4 };
  const stored = async (text: string) => {
    const batch = randomUUID();
    const transaction = new Transaction();
    store.queueStore(transaction, batch, [Buffer.from(text)], [ref], ["a"], 60_000);
    await runTransaction(connection, transaction);
    return batch;
  };
  const [back, gone] = [await stored("back"), await stored("gone")];
  const saved = await connection.getBuffer(batchRefsKey(prefix, back));
  await Promise.all([back, gone].map((batch) => connection.del(batchRefsKey(prefix, batch))));
  const resolving = store.resolve("j.drain", [
    { batch: back, bytes: 4, indices: "0" },
    { batch: gone, bytes: 4, indices: "0" },
  ]);
  await sleep(GONE_RECHECK_MS / 4);
  await connection.set(batchRefsKey(prefix, back), saved!);
  const [found, lost] = await resolving;
  assert.deepEqual(found, { batch: back, bytes: 4, profiles: [ref] });
  assert.deepEqual(lost, { batch: gone, lost: 1 });
});

test("while the cluster is down, a client's connect() settles: BullMQ awaits it as it renews a worker's blocking connection", async (t) => {
  const client = await readyClusterClient(t, "worker");
  const admin = await readyClusterClient(t, "admin");
  // A master and its replica down: their slots unserved, the cluster reports cluster_state:fail.
  const nodes = String(await admin.cluster("NODES"))
    .trim()
    .split("\n")
    .map((line) => line.split(" "));
  const master = nodes.find(([, , flags]) => flags!.includes("master"))!;
  const replica = nodes.find(([, , , masterId]) => masterId === master[0])!;
  const down = cluster.nodes.filter((node) => [master[1], replica[1]].some((address) => address!.startsWith(`${node.address}@`)));
  assert.equal(down.length, 2);
  t.after(async () => {
    for (const node of down) await node.restart();
    await cluster.waitHealthy();
  });
  for (const node of down) await node.stop();
  const live = cluster.nodes.find((node) => !down.includes(node))!;
  const probe = createRedisConnection(`redis://${live.address}`, "admin");
  t.after(() => probe.disconnect());
  await pollUntil("the cluster to fail", async () => /cluster_state:fail/.test(String(await probe.call("CLUSTER", "INFO"))), { timeoutMs: 15_000 });

  client.disconnect();
  await once(client, "end");
  const outcome = await Promise.race([
    client.connect().then(
      () => "resolved",
      () => "rejected",
    ),
    sleep(8_000).then(() => "pending"),
  ]);
  assert.notEqual(outcome, "pending", "connect() neither resolved nor rejected");
});

test("the durability check and the memory guard look at every master", async (t) => {
  const admin = await readyClusterClient(t, "admin");
  const masters = mastersOf(admin);
  assert.equal(masters.length, 3);
  const warnings = await checkRedisDurability(admin, { minReplicas: 2 });
  assert.equal(warnings.filter((w) => /appendonly is off.*\(master 127\.0\.0\.1:\d+\)$/.test(w)).length, 3, warnings.join("\n"));
  assert.equal(warnings.filter((w) => /1 connected replica\(s\) but --redis.min-replicas is 2/.test(w)).length, 3, warnings.join("\n"));

  // One master near its maxmemory pauses ingest for all.
  const [full] = masters as [(typeof masters)[number]];
  const used = Number(/^used_memory:(\d+)/m.exec(await full.info("memory"))?.[1]);
  await full.config("SET", "maxmemory", String(Math.ceil(used / 0.96)));
  try {
    const guard = new RedisGuard({ connection: admin });
    assert.equal((await guard.poll()).memory.full, true);
    assert.throws(() => guard.check(), /Redis memory is at \d+% of maxmemory/);
  } finally {
    await full.config("SET", "maxmemory", "0");
  }
});
