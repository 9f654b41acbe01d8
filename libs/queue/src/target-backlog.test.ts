import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { startRedisServer } from "@pyroscope-relay/testing";
import { createRedisConnection, waitForRedis } from "./redis-connection.js";
import { TargetBacklog } from "./target-backlog.js";
import { targetQueue } from "./target-queue.js";

const server = await startRedisServer();
const redis = createRedisConnection(server.url, "admin");
await waitForRedis(redis, 2_000);
after(async () => {
  redis.disconnect();
  await server.stop();
});

/** A queue of its own for target alpha, with its backlog, and a way to add a job. */
function setUp(t: { after(fn: () => Promise<void>): void }) {
  const prefix = `t-${randomUUID()}`;
  const queue = targetQueue(redis, prefix, "alpha");
  t.after(() => queue.close());
  const add = (jobId: string) => queue.add("batch", { batch: "b", bytes: 0, profiles: [] as never }, { jobId });
  return { prefix, queue, add, backlog: new TargetBacklog(redis, prefix, "alpha") };
}

test("a job counts in once and out once, however often either is repeated", async (t) => {
  const { add, backlog } = setUp(t);
  await add("j1");
  assert.deepEqual(await backlog.countIn("j1", { profiles: 3, bytes: 300 }), { profiles: 3, bytes: 300 });
  assert.deepEqual(await backlog.countIn("j1", { profiles: 3, bytes: 300 }), { profiles: 3, bytes: 300 }, "counted in already");
  assert.deepEqual(await backlog.countIn("missing", { profiles: 1, bytes: 1 }), { profiles: 3, bytes: 300 }, "no such job: nothing counted");
  assert.equal(await backlog.countOut("j1"), true);
  assert.equal(await backlog.countOut("j1"), false, "counted out already");
  assert.equal(await backlog.countOut("missing"), false);
});

test("a completed job adds the profiles it counted in to the delivered total, once", async (t) => {
  const { add, backlog } = setUp(t);
  await add("j1");
  await backlog.countIn("j1", { profiles: 3, bytes: 300 });
  assert.equal(await backlog.countOutDelivered("j1"), true);
  assert.equal(await backlog.countOutDelivered("j1"), false, "a repeated completion counts nothing");
  assert.equal(await redis.hget(backlog.totalsKey, "delivered_profiles"), "3");
  assert.deepEqual(await backlog.read(), { profiles: 0, bytes: 0 });
});

test("reading resets counts that no queued job explains", async (t) => {
  const { prefix, queue, add, backlog } = setUp(t);
  await add("j1");
  await backlog.countIn("j1", { profiles: 2, bytes: 20 });
  assert.deepEqual(await backlog.read(), { profiles: 2, bytes: 20 });
  // The job leaves without being counted out (a writer that died at the wrong moment).
  await queue.remove("j1");
  assert.deepEqual(await backlog.read(), { profiles: 0, bytes: 0 });
  assert.deepEqual(await redis.hmget(`${prefix}:{alpha}:backlog`, "profiles", "bytes"), ["0", "0"]);
});

test("a job counted in before a reset is counted out without touching the counts of later jobs", async (t) => {
  const { queue, add, backlog } = setUp(t);
  await add("early");
  await backlog.countIn("early", { profiles: 2, bytes: 20 });
  // It leaves the queue's states with its hash (failed by BullMQ), still counting.
  await redis.lrem(`${queue.qualifiedName}:wait`, 0, "early");
  assert.deepEqual(await backlog.read(), { profiles: 0, bytes: 0 });
  await add("late");
  await backlog.countIn("late", { profiles: 3, bytes: 30 });
  assert.equal(await backlog.countOutDelivered("early"), true);
  assert.equal(await redis.hget(backlog.totalsKey, "delivered_profiles"), "2", "its profiles still count as delivered");
  assert.deepEqual(await backlog.read(), { profiles: 3, bytes: 30 });
  assert.equal(await backlog.countOut("late"), true);
  assert.deepEqual(await backlog.read(), { profiles: 0, bytes: 0 });
});

test("a job counted in by an earlier version (no generation) is counted out as before; a count reads as it always did", async (t) => {
  const { queue, add, backlog } = setUp(t);
  await add("old");
  await redis.hset(`${queue.qualifiedName}:old`, "backlog", "4:40");
  await redis.hset(backlog.key, "profiles", 5, "bytes", 50);
  assert.equal(await backlog.countOut("old"), true);
  assert.deepEqual(await backlog.read(), { profiles: 1, bytes: 10 });
  // An earlier version's writer, in a rolling update, parses `backlog` as profiles:bytes.
  await add("new");
  await backlog.countIn("new", { profiles: 2, bytes: 20 });
  assert.equal(await redis.hget(`${queue.qualifiedName}:new`, "backlog"), "2:20");
});

test("reading an empty backlog writes nothing", async () => {
  const prefix = `t-${randomUUID()}`;
  const backlog = new TargetBacklog(redis, prefix, "alpha");
  const dirty = async () => Number(/rdb_changes_since_last_save:(\d+)/.exec(await redis.info("persistence"))![1]);
  const before = await dirty();
  assert.deepEqual(await backlog.read(), { profiles: 0, bytes: 0 });
  assert.deepEqual(await backlog.read(), { profiles: 0, bytes: 0 });
  assert.equal(await dirty(), before);
});
