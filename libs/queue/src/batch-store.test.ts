import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { commandCalls, startRedisServer } from "@pyroscope-relay/testing";
import type { BatchJobData, ProfileRef } from "./batch-data.js";
import { BatchStore } from "./batch-store.js";
import { UnreadableClaimError } from "./errors.js";
import { batchClaimsKey, batchRefsKey, chunkKey, detachedClaimsKey, detachedProfileKey } from "./keys.js";
import { CHUNK_BYTES, layOut } from "./payload-layout.js";
import { createRedisConnection, waitForRedis } from "./redis-connection.js";
import { SharedChunks } from "./shared-chunks.js";
import { runTransaction, Transaction } from "./transaction.js";

const server = await startRedisServer();
const redis = createRedisConnection(server.url, "admin");
await waitForRedis(redis, 2_000);
after(async () => {
  redis.disconnect();
  await server.stop();
});

/** Stores `payloads` as one batch owed to `targets`; returns its job data. */
async function storeBatch(store: BatchStore, payloads: Buffer[], targets: string[]): Promise<BatchJobData> {
  const batch = randomUUID();
  const { offsets, chunks } = layOut(payloads);
  const profiles = payloads.map(
    (payload, index): ProfileRef => ({ kind: "ingest", index, offset: offsets[index]!, size: payload.length, receivedAt: 1, query: "", contentTypes: [] }),
  );
  const transaction = new Transaction();
  store.queueStore(transaction, batch, chunks, profiles, targets, 60_000);
  for (const [error] of await runTransaction(redis, transaction)) assert.equal(error, null);
  return { batch, bytes: payloads.reduce((sum, payload) => sum + payload.length, 0), profiles };
}

test("the last target's release deletes the chunks; releasing twice changes nothing", async () => {
  const prefix = `t-${randomUUID()}`;
  const store = new BatchStore(redis, prefix);
  const data = await storeBatch(store, [randomBytes(CHUNK_BYTES), randomBytes(100)], ["a", "b"]);
  assert.equal(await redis.exists(chunkKey(prefix, data.batch, 0), chunkKey(prefix, data.batch, 1)), 2);
  assert.equal(await store.releaseBatch(data, "a"), false);
  assert.equal(await store.releaseBatch(data, "a"), false, "idempotent");
  assert.equal(await store.replayable(data), true);
  assert.equal(await store.releaseBatch(data, "b"), true);
  assert.deepEqual(await redis.keys(`${prefix}:*`), []);
  assert.equal(await store.replayable(data), false);
  assert.equal(await store.releaseBatch(data, "b"), false);
});

test("a job's batches are released in one script: the chunks go where no other target still needs them", async () => {
  const prefix = `t-${randomUUID()}`;
  const store = new BatchStore(redis, prefix);
  const sharedWithB = await storeBatch(store, [randomBytes(CHUNK_BYTES), randomBytes(100)], ["a", "b"]);
  const onlyA = await storeBatch(store, [randomBytes(300)], ["a"]);
  const empty = { batch: randomUUID(), bytes: 0 };
  const largest = await storeBatch(store, [randomBytes(3 * CHUNK_BYTES + 7)], ["a"]);
  const scripts = async () => (await commandCalls(redis, "eval")) + (await commandCalls(redis, "evalsha"));
  const before = await scripts();
  assert.deepEqual(await store.releaseBatches([sharedWithB, onlyA, empty, largest], "a"), [false, true, false, true]);
  assert.equal((await scripts()) - before, 1, "one script for every batch");
  assert.deepEqual(await store.releaseBatches([sharedWithB, onlyA, largest], "a"), [false, false, false], "idempotent");
  const left = (await redis.keys(`${prefix}:*`)).sort();
  assert.deepEqual(
    left,
    [
      batchClaimsKey(prefix, sharedWithB.batch),
      chunkKey(prefix, sharedWithB.batch, 0),
      chunkKey(prefix, sharedWithB.batch, 1),
      batchRefsKey(prefix, sharedWithB.batch),
    ].sort(),
    "the references go with the chunks",
  );
  assert.deepEqual(await redis.smembers(batchClaimsKey(prefix, sharedWithB.batch)), ["b"]);
  assert.deepEqual(await store.releaseBatches([], "a"), []);
});

test("a batch's references are stored once; each target's pointer resolves to its own profiles", async () => {
  const prefix = `t-${randomUUID()}`;
  const store = new BatchStore(redis, prefix);
  const data = await storeBatch(store, [randomBytes(10), randomBytes(20), randomBytes(30)], ["a", "b"]);
  const [first, , third] = data.profiles;
  const ttl = await redis.pttl(chunkKey(prefix, data.batch, 0));
  assert.ok((await redis.pttl(batchRefsKey(prefix, data.batch))) > 1.9 * ttl, "the references outlive the chunks");
  assert.ok((await redis.pttl(batchClaimsKey(prefix, data.batch))) > 1.9 * ttl, "and so do the claims, which guard them");
  const earlier = { batch: "stored-whole", bytes: 5, profiles: [{ ...first!, size: 5 }] };
  assert.deepEqual(
    await store.resolve("job", [{ batch: data.batch, bytes: data.bytes, indices: "0,2" }, earlier, { batch: data.batch, bytes: data.bytes, indices: "0-2" }]),
    [{ batch: data.batch, bytes: data.bytes, profiles: [first, third] }, earlier, { batch: data.batch, bytes: data.bytes, profiles: data.profiles }],
  );
});

test("a pointer whose references are gone resolves to the number of profiles it lost; the others of the claim resolve", async () => {
  const prefix = `t-${randomUUID()}`;
  const store = new BatchStore(redis, prefix);
  const gone = await storeBatch(store, [randomBytes(10), randomBytes(10), randomBytes(10)], ["a"]);
  const kept = await storeBatch(store, [randomBytes(10)], ["a"]);
  await redis.del(batchRefsKey(prefix, gone.batch));
  assert.deepEqual(
    await store.resolve("j.drain", [
      { batch: gone.batch, bytes: gone.bytes, indices: "0,2" },
      { batch: kept.batch, bytes: kept.bytes, indices: "0" },
    ]),
    [
      { batch: gone.batch, lost: 2 },
      { batch: kept.batch, bytes: kept.bytes, profiles: kept.profiles },
    ],
  );
});

test("a pointer whose references name none of its profiles, or do not parse, fails as an unreadable claim naming the batch", async () => {
  const prefix = `t-${randomUUID()}`;
  const store = new BatchStore(redis, prefix);
  const data = await storeBatch(store, [randomBytes(10)], ["a"]);
  await assert.rejects(store.resolve("j.drain", [{ batch: data.batch, bytes: data.bytes, indices: "5" }]), (error: unknown) => {
    assert.ok(error instanceof UnreadableClaimError);
    assert.match(error.message, new RegExp(`drain job j.drain: .*batch ${data.batch} has none of the profiles 5`));
    return true;
  });
  await redis.set(batchRefsKey(prefix, data.batch), "[{");
  await assert.rejects(store.resolve("j.drain", [{ batch: data.batch, bytes: data.bytes, indices: "0" }]), /the references of batch .* do not parse/);
});

test("a detached copy holds the profile's exact bytes, across a chunk boundary, for every job that holds it", async () => {
  const prefix = `t-${randomUUID()}`;
  const store = new BatchStore(redis, prefix);
  const payloads = [randomBytes(CHUNK_BYTES - 10), randomBytes(50), randomBytes(20)];
  const data = await storeBatch(store, payloads, ["a", "b"]);
  const spanning = data.profiles[1]!;
  assert.deepEqual(await store.detach(data, [spanning], "j1@a", 120_000), []);
  assert.deepEqual(await redis.getBuffer(detachedProfileKey(prefix, data.batch, 1)), payloads[1]);
  assert.deepEqual(await store.detach(data, [spanning], "j2@b", 60_000), [], "a second holder shares the copy");
  assert.deepEqual((await redis.smembers(detachedClaimsKey(prefix, data.batch, 1))).sort(), ["j1@a", "j2@b"]);
  const ttl = await redis.pttl(detachedProfileKey(prefix, data.batch, 1));
  assert.ok(ttl > 110_000, `never shortened: ${ttl}`);
  const loaded = await store.load({ ...data, detached: true }, [spanning]);
  assert.deepEqual(loaded.get(1), payloads[1]);

  // Both batch claims go: the chunks go, the copy stays for its holders.
  await store.releaseBatch(data, "a");
  await store.releaseBatch(data, "b");
  assert.equal(await redis.exists(chunkKey(prefix, data.batch, 0)), 0);
  assert.equal(await store.releaseDetached(data.batch, [1], "j1@a"), 0);
  assert.equal(await store.releaseDetached(data.batch, [1], "j2@b"), 1, "the last holder's release deletes the copy");
  assert.deepEqual(await redis.keys(`${prefix}:*`), []);
});

test("detaching a profile whose chunks are gone reports it; a detached job's detach only adds its claim", async () => {
  const prefix = `t-${randomUUID()}`;
  const store = new BatchStore(redis, prefix);
  const data = await storeBatch(store, [randomBytes(10), randomBytes(10)], ["a"]);
  await store.detach(data, [data.profiles[0]!], "j1@a", 60_000);
  await redis.del(chunkKey(prefix, data.batch, 0));
  assert.deepEqual(await store.detach(data, data.profiles, "j2@a", 60_000), [1], "profile 1 had no copy and its chunk is gone");
  assert.deepEqual(await store.detach({ ...data, detached: true }, data.profiles, "j3@a", 60_000), [1]);
  assert.deepEqual((await redis.smembers(detachedClaimsKey(prefix, data.batch, 0))).sort(), ["j1@a", "j2@a", "j3@a"]);
});

test("replay reclaims what is left and sets a fresh TTL; nothing when it is all gone", async () => {
  const prefix = `t-${randomUUID()}`;
  const store = new BatchStore(redis, prefix);
  const data = await storeBatch(store, [randomBytes(10), randomBytes(10)], ["a"]);
  await store.detach(data, data.profiles, "j@a", 1_000);
  await store.releaseBatch(data, "a");
  await store.releaseDetached(data.batch, [0, 1], "j@a");
  assert.equal(await store.reclaim({ ...data, detached: true }, "a", "j@a", 60_000), 0, "the copies are gone");

  const again = await storeBatch(store, [randomBytes(10), randomBytes(10)], ["a"]);
  await store.detach(again, again.profiles, "k@a", 1_000);
  await redis.del(detachedProfileKey(prefix, again.batch, 1));
  assert.equal(await store.reclaim({ ...again, detached: true }, "a", "k@a", 60_000), 1);
  assert.deepEqual(await redis.smembers(detachedClaimsKey(prefix, again.batch, 0)), ["k@a"]);
  assert.ok((await redis.pttl(detachedProfileKey(prefix, again.batch, 0))) > 50_000);

  // A job that still refers to its batch holds the chunks again.
  await store.releaseBatch(again, "a");
  assert.equal(await store.reclaim(again, "a", "k@a", 60_000), 0, "its chunks are gone");
  const kept = await storeBatch(store, [randomBytes(10)], ["b"]);
  assert.equal(await store.reclaim(kept, "a", "x@a", 60_000), 1);
  assert.deepEqual((await redis.smembers(batchClaimsKey(prefix, kept.batch))).sort(), ["a", "b"]);
});

test("a batch job is replayable only with every chunk; a detached job with any copy", async () => {
  const prefix = `t-${randomUUID()}`;
  const store = new BatchStore(redis, prefix);
  const data = await storeBatch(store, [randomBytes(CHUNK_BYTES), randomBytes(100)], ["a"]);
  assert.equal(await store.replayable(data), true);
  await store.detach(data, data.profiles, "j@a", 60_000);
  await redis.del(chunkKey(prefix, data.batch, 1));
  assert.equal(await store.replayable(data), false, "a missing chunk would cut a profile short");
  await redis.del(detachedProfileKey(prefix, data.batch, 0));
  assert.equal(await store.replayable({ ...data, detached: true }), true, "profile 1's copy is left");
  await redis.del(detachedProfileKey(prefix, data.batch, 1));
  assert.equal(await store.replayable({ ...data, detached: true }), false);
});

test("two targets' jobs of one batch read its chunks from Redis once; the last release forgets them", async () => {
  const prefix = `t-${randomUUID()}`;
  const shared = new SharedChunks(() => 2, 1024 * 1024);
  const [first, second] = [new BatchStore(redis, prefix, shared), new BatchStore(redis, prefix, shared)];
  const payloads = [randomBytes(CHUNK_BYTES + 10), randomBytes(300)];
  const data = await storeBatch(first, payloads, ["a", "b"]);
  const before = await commandCalls(redis, "mget");
  const [loadedByA, loadedByB] = await Promise.all([first.load(data, data.profiles), second.load(data, data.profiles)]);
  assert.equal((await commandCalls(redis, "mget")) - before, 1);
  for (const loaded of [loadedByA, loadedByB]) assert.deepEqual([loaded.get(0), loaded.get(1)], payloads);

  // Both jobs took their chunks: a retry of one reads them from Redis again.
  await first.releaseBatch(data, "a");
  assert.deepEqual((await second.load(data, [data.profiles[1]!])).get(1), payloads[1]);
  assert.equal((await commandCalls(redis, "mget")) - before, 2);
  assert.equal(await second.releaseBatch(data, "b"), true);
  assert.equal(shared.keptBytes, 0, "deleted in Redis, forgotten here");
  assert.equal((await second.load(data, data.profiles)).size, 0, "read again: gone");
});

test("a job's batches are read together in one command, a detached piece's copies in one of their own", async () => {
  const prefix = `t-${randomUUID()}`;
  const store = new BatchStore(redis, prefix);
  const payloads = [[randomBytes(CHUNK_BYTES + 7), randomBytes(40)], [randomBytes(900)], [randomBytes(2_000), randomBytes(3_000)]];
  const batches = [];
  for (const batch of payloads) batches.push(await storeBatch(store, batch, ["a"]));
  const detachedPayloads = [randomBytes(CHUNK_BYTES - 5), randomBytes(60)];
  const detachedData = await storeBatch(store, detachedPayloads, ["a"]);
  assert.deepEqual(await store.detach(detachedData, [detachedData.profiles[1]!], "j@a", 60_000), []);
  const pieces = [
    { segment: batches[0]!, refs: batches[0]!.profiles },
    { segment: batches[1]!, refs: [] },
    { segment: { ...detachedData, detached: true }, refs: [detachedData.profiles[1]!] },
    { segment: batches[2]!, refs: [batches[2]!.profiles[1]!] },
    { segment: batches[1]!, refs: batches[1]!.profiles },
  ];
  const before = await commandCalls(redis, "mget");
  const loaded = await store.loadAll(pieces);
  assert.equal((await commandCalls(redis, "mget")) - before, 2, "the batches' chunks together, the copies apart");
  assert.deepEqual([...loaded[0]!], [...payloads[0]!.entries()]);
  assert.equal(loaded[1]!.size, 0, "a piece without profiles loads nothing");
  assert.deepEqual([...loaded[2]!], [[1, detachedPayloads[1]]]);
  assert.deepEqual([...loaded[3]!], [[1, payloads[2]![1]]], "only the profiles asked for");
  assert.deepEqual([...loaded[4]!], [[0, payloads[1]![0]]]);

  // A batch whose chunks are gone leaves its profiles out, and the others load as before.
  await store.releaseBatch(batches[0]!, "a");
  const again = await store.loadAll([pieces[0]!, pieces[4]!]);
  assert.equal(again[0]!.size, 0);
  assert.deepEqual([...again[1]!], [[0, payloads[1]![0]]]);
});

test("a job's batches are read a MiB of chunks at a time", async () => {
  const prefix = `t-${randomUUID()}`;
  const store = new BatchStore(redis, prefix);
  // Eight full chunks per batch (512 KiB): two batches fill a read, the third goes in a second one.
  const payloads = [0, 1, 2].map(() => randomBytes(8 * CHUNK_BYTES));
  const batches = [];
  for (const payload of payloads) batches.push(await storeBatch(store, [payload], ["a"]));
  const before = await commandCalls(redis, "mget");
  const loaded = await store.loadAll(batches.map((segment) => ({ segment, refs: segment.profiles })));
  assert.equal((await commandCalls(redis, "mget")) - before, 2);
  loaded.forEach((bytesByIndex, i) => assert.ok(bytesByIndex.get(0)?.equals(payloads[i]!), `batch ${i} whole`));
});
