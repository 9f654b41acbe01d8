import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { join } from "node:path";
import { after, test, type TestContext } from "node:test";
import { Pipeline } from "ioredis";
import { commandCalls, pollUntil, startRedisServer, startNetworkFaultProxy } from "@pyroscope-relay/testing";
import { createRedisConnection, waitForRedis } from "./redis-connection.js";
import { RedisNotReadyError, runTransaction, Transaction } from "./transaction.js";

const server = await startRedisServer();
const redis = createRedisConnection(server.url, "producer");
await waitForRedis(redis, 2_000);
after(async () => {
  redis.disconnect();
  await server.stop();
});

const key = (name: string) => `t-${randomUUID()}:${name}`;

test("runs the commands in one MULTI/EXEC, and answers each command's reply in order", async () => {
  const [chunk, counts, list] = [key("chunk"), key("counts"), key("list")];
  const transaction = new Transaction()
    .add("set", chunk, Buffer.from([0, 1, 2]), "PX", 60_000)
    .add("hincrby", counts, "profiles", 2)
    .add("hincrby", counts, "profiles", 3)
    .add("rpush", list, "segment")
    .add("exists", key("absent"));
  const before = { multi: await commandCalls(redis, "multi"), exec: await commandCalls(redis, "exec") };
  const results = await runTransaction(redis, transaction);
  assert.deepEqual(results, [
    [null, "OK"],
    [null, 2],
    [null, 5],
    [null, 1],
    [null, 0],
  ]);
  assert.deepEqual(await redis.getBuffer(chunk), Buffer.from([0, 1, 2]));
  assert.equal((await commandCalls(redis, "multi")) - before.multi, 1);
  assert.equal((await commandCalls(redis, "exec")) - before.exec, 1);
});

test("goes out without an ioredis Pipeline on one Redis", async (t) => {
  // A Pipeline keeps itself alive until a major collection (see transaction.ts): none may be made.
  const exec = t.mock.method(Pipeline.prototype, "exec");
  await runTransaction(redis, new Transaction().add("set", key("x"), "1"));
  assert.equal(exec.mock.callCount(), 0);
});

test("a command Redis refuses while queueing fails the whole transaction with Redis' reason, and nothing is applied", async () => {
  const stored = key("stored");
  const transaction = new Transaction().add("set", stored, "1").add("hincrby", key("counts"), "profiles");
  await assert.rejects(runTransaction(redis, transaction), /wrong number of arguments for 'hincrby'/);
  assert.equal(await redis.exists(stored), 0);
  assert.equal(await redis.ping(), "PONG", "the connection is out of the transaction");
});

test("a command that fails inside the transaction is an entry of the results; the others are applied", async () => {
  const [text, stored] = [key("text"), key("stored")];
  await redis.set(text, "not a hash");
  const results = await runTransaction(redis, new Transaction().add("hincrby", text, "profiles", 1).add("set", stored, "1"));
  assert.match(String(results[0]?.[0]), /WRONGTYPE/);
  assert.deepEqual(results[1], [null, "OK"]);
  assert.equal(await redis.get(stored), "1");
});

test("commands sent in the same turn, before and after, stay out of the transaction", async () => {
  const counter = key("counter");
  const first = redis.incr(counter);
  const transaction = runTransaction(redis, new Transaction().add("incr", counter).add("incr", counter));
  const last = redis.incr(counter);
  assert.equal(await first, 1);
  assert.deepEqual(await transaction, [
    [null, 2],
    [null, 3],
  ]);
  assert.equal(await last, 4);
});

test("concurrent transactions on one connection each get their own results", async () => {
  const counter = key("counter");
  const runs = await Promise.all(Array.from({ length: 20 }, () => runTransaction(redis, new Transaction().add("incr", counter).add("get", counter))));
  const seen = runs.map((results) => {
    const [incremented, read] = results.map(([, reply]) => reply);
    assert.equal(String(incremented), read);
    return Number(incremented);
  });
  assert.deepEqual(
    seen.sort((a, b) => a - b),
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
});

/** A Redis of the test's own, to stop or reconfigure, and a `producer` connection to it. */
async function ownRedis(t: TestContext) {
  const own = await startRedisServer();
  t.after(() => own.stop());
  const producer = createRedisConnection(own.url, "producer");
  producer.on("error", () => undefined);
  t.after(() => producer.disconnect());
  await waitForRedis(producer, 2_000);
  return { own, producer };
}

test("while Redis is down the transaction fails at once without sending anything, and once it is back the connection works as before", async (t) => {
  const { own, producer } = await ownRedis(t);
  await own.kill();
  await pollUntil("the producer to see Redis go", () => producer.status !== "ready");
  await assert.rejects(runTransaction(producer, new Transaction().add("set", "k", "1")), RedisNotReadyError);
  await own.restart();
  await waitForRedis(producer, 15_000);
  assert.deepEqual(await runTransaction(producer, new Transaction().add("set", "k", "2")), [[null, "OK"]]);
  assert.equal(await producer.get("k"), "2");
});

test("through a connection with an offline queue, a transaction made before the connection is ready goes out whole once it is", async (t) => {
  const admin = createRedisConnection(server.url, "admin");
  t.after(() => admin.disconnect());
  const counts = key("counts");
  const run = () => runTransaction(admin, new Transaction().add("hincrby", counts, "profiles", 1).add("hincrby", counts, "profiles", 1));
  const connecting = run();
  assert.equal(admin.status, "connecting");
  // Connected, in its ready check: ioredis would write MULTI and EXEC at once but queue the rest.
  await once(admin, "connect");
  assert.equal(admin.status, "connect");
  const inReadyCheck = run();
  const replies = (await Promise.all([connecting, inReadyCheck])).map((results) => results.map(([, reply]) => reply));
  assert.deepEqual(replies, [
    [1, 2],
    [3, 4],
  ]);
});

test("a connection Redis closes in the middle of a transaction applies none of it, then or after reconnecting", async (t) => {
  const { producer } = await ownRedis(t);
  // Redis answers what came before an argument beyond proto-max-bulk-len (1 MB at the least), then
  // closes the connection: the commands after it were sent but never answered.
  await producer.config("SET", "proto-max-bulk-len", "1mb");
  const [before, after] = [key("before"), key("after")];
  const transaction = new Transaction()
    .add("hincrby", before, "profiles", 1)
    .add("set", key("big"), Buffer.alloc(2 * 1024 * 1024))
    .add("hincrby", after, "profiles", 1);
  // Redis' reason comes first, unless the connection's reset lost it.
  await assert.rejects(runTransaction(producer, transaction), /Protocol error|connection close/);
  await waitForRedis(producer, 5_000);
  // Whatever ioredis would send again on the new connection went before this.
  assert.equal(await producer.ping(), "PONG");
  assert.deepEqual([await producer.exists(before), await producer.exists(after)], [0, 0]);
});

test("a transaction Redis ran, whose reply the connection lost, fails and does not run again on the next connection", async (t) => {
  const own = await startRedisServer();
  t.after(() => own.stop());
  const proxy = await startNetworkFaultProxy({ path: own.socketPath }, { path: join(own.dir, "proxy.sock") });
  t.after(() => proxy.close());
  const producer = createRedisConnection(`unix://${proxy.address.path}`, "producer");
  producer.on("error", () => undefined);
  t.after(() => producer.disconnect());
  await waitForRedis(producer, 2_000);
  const [pending, backlog] = [key("pending"), key("backlog")];
  proxy.loseNextReply();
  const transaction = new Transaction().add("rpush", pending, "segment").add("hincrby", backlog, "profiles", 1);
  await assert.rejects(runTransaction(producer, transaction), /connection close/);
  await waitForRedis(producer, 5_000);
  // Whatever ioredis would send again on the new connection went before this.
  assert.equal(await producer.ping(), "PONG");
  assert.deepEqual(await producer.lrange(pending, 0, -1), ["segment"]);
  assert.equal(await producer.hget(backlog, "profiles"), "1");
});
