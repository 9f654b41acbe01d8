import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { startRedisServer } from "@pyroscope-relay/testing";
import { payloadKey, pendingKey } from "./keys.js";
import { PayloadStore } from "./payload-store.js";
import { createRedisConnection, waitForRedis } from "./redis-connection.js";

const server = await startRedisServer();
const redis = createRedisConnection(server.url, "worker");
after(async () => {
  redis.disconnect();
  await server.stop();
});
await waitForRedis(redis, 2_000);

/** A store under a prefix of its own, so tests never see each other's keys. */
function freshStore() {
  const prefix = `t-${randomUUID()}`;
  return { prefix, store: new PayloadStore(redis, prefix), id: randomUUID() };
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

test("stores bytes as binary with the pending targets and a TTL on both keys", async () => {
  const { prefix, store, id } = freshStore();
  await store.put(id, new Uint8Array(ALL_BYTES), ["b", "a/0"], 60_000);
  assert.deepEqual(await store.get(id), ALL_BYTES);
  assert.equal(await redis.strlen(payloadKey(prefix, id)), 256);
  assert.deepEqual(await store.pending(id), ["a/0", "b"]);
  for (const key of [payloadKey(prefix, id), pendingKey(prefix, id)]) {
    const ttl = await redis.pttl(key);
    assert.ok(ttl > 59_000 && ttl <= 60_000, `${key} ttl ${ttl}`);
  }
});

test("stores a view of a larger buffer exactly", async () => {
  const { store, id } = freshStore();
  await store.put(id, ALL_BYTES.subarray(10, 20), ["a"], 60_000);
  assert.deepEqual(await store.get(id), ALL_BYTES.subarray(10, 20));
});

test("the last release deletes the payload and its set; releases are idempotent", async () => {
  const { prefix, store, id } = freshStore();
  await store.put(id, ALL_BYTES, ["a", "b", "c"], 60_000);
  assert.equal(await store.release(id, "a"), "released");
  assert.equal(await store.release(id, "a"), "absent");
  assert.equal(await store.release(id, "b"), "released");
  assert.deepEqual(await store.get(id), ALL_BYTES);
  assert.deepEqual(await store.pending(id), ["c"]);
  assert.equal(await store.release(id, "c"), "deleted");
  assert.equal(await redis.exists(payloadKey(prefix, id), pendingKey(prefix, id)), 0);
  assert.equal(await store.release(id, "c"), "absent");
  assert.equal(await store.get(id), null);
});

test("a payload left without claims is deleted by any release", async () => {
  const { prefix, store, id } = freshStore();
  await redis.set(payloadKey(prefix, id), "orphan");
  assert.equal(await store.release(id, "a"), "absent");
  assert.equal(await redis.exists(payloadKey(prefix, id)), 0);
});

test("release loads its script again after SCRIPT FLUSH", async () => {
  const { store, id } = freshStore();
  await store.put(id, ALL_BYTES, ["a", "b"], 60_000);
  await redis.script("FLUSH");
  assert.equal(await store.release(id, "a"), "released");
});

test("release surfaces Redis errors", async () => {
  const { prefix, store, id } = freshStore();
  await redis.set(pendingKey(prefix, id), "not a set");
  await assert.rejects(store.release(id, "a"), /WRONGTYPE/);
});

test("refresh lengthens both TTLs, never shortens them, and tells whether the payload exists", async () => {
  const { prefix, store, id } = freshStore();
  await store.put(id, ALL_BYTES, ["a"], 1_000);
  assert.equal(await store.refresh(id, 120_000), true);
  assert.ok((await redis.pttl(payloadKey(prefix, id))) > 100_000);
  assert.ok((await redis.pttl(pendingKey(prefix, id))) > 100_000);
  assert.equal(await store.refresh(id, 1_000), true);
  assert.ok((await redis.pttl(payloadKey(prefix, id))) > 100_000, "another target may still owe it for longer");
  assert.equal(await store.refresh(randomUUID(), 120_000), false);
});

test("put refuses no targets and bad TTLs before touching Redis", async () => {
  const { prefix, store, id } = freshStore();
  await assert.rejects(store.put(id, ALL_BYTES, [], 1_000), RangeError);
  await assert.rejects(store.put(id, ALL_BYTES, ["a"], 0), RangeError);
  await assert.rejects(store.put(id, ALL_BYTES, ["a"], 1.5), RangeError);
  await assert.rejects(store.refresh(id, -1), RangeError);
  await assert.rejects(store.reclaim(id, "a", -1), RangeError);
  assert.equal(await redis.exists(payloadKey(prefix, id)), 0);
});

test("put surfaces a command that failed inside the transaction", async () => {
  const { prefix, store, id } = freshStore();
  await redis.set(pendingKey(prefix, id), "not a set");
  await assert.rejects(store.put(id, ALL_BYTES, ["a"], 60_000), /WRONGTYPE/);
});

test("reclaim puts the target back and refreshes both TTLs; nothing when the payload is gone", async () => {
  const { prefix, store, id } = freshStore();
  await store.put(id, ALL_BYTES, ["a", "b"], 1_000);
  await store.release(id, "a");
  assert.equal(await store.reclaim(id, "a", 120_000), true);
  assert.deepEqual(await store.pending(id), ["a", "b"]);
  for (const key of [payloadKey(prefix, id), pendingKey(prefix, id)]) assert.ok((await redis.pttl(key)) > 100_000, key);

  const gone = randomUUID();
  assert.equal(await store.reclaim(gone, "a", 120_000), false);
  assert.equal(await redis.exists(payloadKey(prefix, gone), pendingKey(prefix, gone)), 0);
  await assert.rejects(store.reclaim(id, "a", 0), RangeError);
});

test("exists tells whether the bytes are still stored", async () => {
  const { store, id } = freshStore();
  assert.equal(await store.exists(id), false);
  await store.put(id, ALL_BYTES, ["a"], 60_000);
  assert.equal(await store.exists(id), true);
});
