import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { startRedisServer } from "@pyroscope-relay/testing";
import type { BatchSegment, SegmentPointer } from "./batch-data.js";
import { addDrainJob } from "./batch-job.js";
import { UnreadableClaimError } from "./errors.js";
import { formatRanges } from "./index-ranges.js";
import { batchRefsKey } from "./keys.js";
import { PendingSegments } from "./pending-segments.js";
import { createRedisConnection, waitForRedis } from "./redis-connection.js";
import { TargetBacklog, usageOf } from "./target-backlog.js";
import { targetQueue } from "./target-queue.js";
import { runTransaction, Transaction } from "./transaction.js";

const server = await startRedisServer();
const redis = createRedisConnection(server.url, "admin");
await waitForRedis(redis, 2_000);
after(async () => {
  redis.disconnect();
  await server.stop();
});

const segment = (batch: string, profiles: number, size = 10): BatchSegment => ({
  batch,
  bytes: profiles * size,
  profiles: Array.from({ length: profiles }, (_, index) => ({
    kind: "ingest",
    index,
    offset: index * size,
    size,
    receivedAt: 1,
    query: "name=app",
    contentTypes: [],
  })),
});

/** What a pending list holds of `one`: a pointer into its batch's references. */
const pointer = (one: BatchSegment): SegmentPointer => ({ batch: one.batch, bytes: one.bytes, indices: formatRanges(one.profiles.map((ref) => ref.index)) });

/** Stores each segment's references and appends its pointer, counted in, as a flush does; resolves with their entries. */
async function append(pending: PendingSegments, backlog: TargetBacklog, ...segments: BatchSegment[]): Promise<string[]> {
  const entries = segments.map((one) => PendingSegments.entry(pointer(one), usageOf(one.profiles)));
  const transaction = new Transaction();
  segments.forEach((one, i) => {
    transaction.add("set", batchRefsKey(pending.prefix, one.batch), JSON.stringify(one.profiles));
    pending.queueAppend(transaction, entries[i]!);
    backlog.queueCountIn(transaction, usageOf(one.profiles));
  });
  for (const [error] of await runTransaction(redis, transaction)) assert.equal(error, null);
  return entries;
}

async function setUp(t: { after(fn: () => Promise<void>): void }) {
  const prefix = `t-${randomUUID()}`;
  const queue = targetQueue(redis, prefix, "alpha");
  t.after(() => queue.close());
  return { queue, pending: new PendingSegments(redis, prefix, "alpha"), backlog: new TargetBacklog(redis, prefix, "alpha") };
}

test("a drain job claims what waits, within its bounds but at least one segment, and the same again on every later run", async (t) => {
  const { queue, pending, backlog } = await setUp(t);
  await append(pending, backlog, segment("a", 3), segment("b", 2), segment("c", 4), segment("d", 1));
  await queue.add("batch", { drain: true }, { jobId: "first.drain" });
  await queue.add("batch", { drain: true }, { jobId: "second.drain" });
  await queue.add("batch", { drain: true }, { jobId: "third.drain" });

  const bounds = { maxProfiles: 6, maxBytes: 1_000 };
  const first = await pending.claim("first.drain", bounds);
  assert.deepEqual(
    first?.entries.map((one) => one.batch),
    ["a", "b"],
    "a third segment would pass 6 profiles",
  );
  assert.equal(first?.more, true, "c and d still wait");
  assert.deepEqual(await pending.claim("first.drain", { maxProfiles: 100, maxBytes: 1_000 }), first, "claimed once");
  assert.deepEqual(await pending.claimed("first.drain"), first?.entries);
  assert.deepEqual(
    (await pending.claim("second.drain", { maxProfiles: 1, maxBytes: 1 }))?.entries.map((one) => one.batch),
    ["c"],
    "one segment beyond the bounds",
  );
  assert.deepEqual(await pending.list(), [segment("d", 1)]);
  // Each claimed job carries what it counts in the backlog: counting it out subtracts exactly that.
  assert.equal(await backlog.countOut("first.drain"), true);
  assert.deepEqual(await backlog.read(), { profiles: 5, bytes: 50 });
  assert.deepEqual(await pending.claim("third.drain", bounds), { entries: [pointer(segment("d", 1))], more: false });
  assert.equal(await pending.waiting(), 0);
});

test("a drain job counted out of the backlog (its completion ran, BullMQ's did not) claims nothing when run again", async (t) => {
  const { queue, pending, backlog } = await setUp(t);
  await append(pending, backlog, segment("a", 3));
  await queue.add("batch", { drain: true }, { jobId: "done.drain" });
  const bounds = { maxProfiles: 10, maxBytes: 1_000 };
  assert.equal((await pending.claim("done.drain", bounds))?.entries.length, 1);
  assert.equal(await backlog.countOut("done.drain"), true);
  // Its batches were released with it: reading them again would find their references gone.
  assert.deepEqual(await pending.claim("done.drain", bounds), { entries: [], more: false });
  assert.deepEqual(await pending.claimed("done.drain"), []);
});

test("a drain job is deduplicated until it claims: then a flush adds the next one", async (t) => {
  const { queue, pending, backlog } = await setUp(t);
  await append(pending, backlog, segment("a", 1));
  await addDrainJob(queue, 3);
  await addDrainJob(queue, 3);
  const [waiting, ...more] = await queue.getJobs(["waiting", "delayed"]);
  assert.equal(more.length, 0, "the second add was deduplicated");
  await pending.claim(waiting!.id!, { maxProfiles: 10, maxBytes: 1_000 });
  await addDrainJob(queue, 3);
  assert.equal(await queue.getJobCountByTypes("waiting", "delayed"), 2, "the claim ended the deduplication");
  const [, third] = await queue.getJobs(["waiting"], 0, -1, true);
  await pending.releaseDeduplication(waiting!.id!);
  await addDrainJob(queue, 3);
  assert.equal(await queue.getJobCountByTypes("waiting"), 2, "a job that no longer holds it releases nothing");
  await pending.releaseDeduplication(third!.id!);
  await addDrainJob(queue, 3);
  assert.equal(await queue.getJobCountByTypes("waiting"), 3, "the holder released it: the next add is a job of its own");
});

test("a drain job that finds nothing claims nothing; a job that is gone claims nothing either", async (t) => {
  const { queue, pending, backlog } = await setUp(t);
  await queue.add("batch", { drain: true }, { jobId: "empty.drain" });
  assert.deepEqual(await pending.claim("empty.drain", { maxProfiles: 10, maxBytes: 10 }), { entries: [], more: false });
  await append(pending, backlog, segment("late", 1));
  assert.deepEqual(
    await pending.claim("empty.drain", { maxProfiles: 10, maxBytes: 10 }),
    { entries: [], more: true },
    "its claim is made: later segments wait for the next job",
  );
  assert.equal(await backlog.countOut("empty.drain"), false, "it counted nothing in");
  assert.equal(await pending.claim("gone.drain", { maxProfiles: 10, maxBytes: 10 }), undefined);
  assert.equal(await pending.claimed("gone.drain"), undefined);
  assert.equal(await pending.waiting(), 1, "the segment still waits");
});

test("a drain job failed outside the queue and counted out after a reset takes nothing from what came after", async (t) => {
  const { queue, pending, backlog } = await setUp(t);
  await append(pending, backlog, segment("a", 3));
  await queue.add("batch", { drain: true }, { jobId: "failed.drain" });
  await pending.claim("failed.drain", { maxProfiles: 10, maxBytes: 1_000 });
  // BullMQ failed it by itself (stalled too often): it leaves the queue's states, still counting 3,
  // until a writer's sweep splits it off.
  await redis.lrem(`${queue.qualifiedName}:wait`, 0, "failed.drain");
  assert.deepEqual(await backlog.read(), { profiles: 0, bytes: 0 }, "nothing queued: reset");
  await append(pending, backlog, segment("b", 2));
  assert.equal(await backlog.countOut("failed.drain"), true);
  assert.deepEqual(await backlog.read(), { profiles: 2, bytes: 20 }, "b's count is b's");
});

test("a segment no drain job claimed is taken back with its count, also when the withdrawal runs twice; a claimed one stays with its job", async (t) => {
  const { queue, pending, backlog } = await setUp(t);
  const [taken, claimed] = await append(pending, backlog, segment("taken", 2), segment("claimed", 1));
  assert.equal(await pending.withdraw(taken!, { profiles: 2, bytes: 20 }), true);
  assert.deepEqual(await backlog.read(), { profiles: 1, bytes: 10 });
  // Sent again (a reconnect, a failover): still this withdrawal's, counted out once.
  assert.equal(await pending.withdraw(taken!, { profiles: 2, bytes: 20 }), true);
  assert.deepEqual(await backlog.read(), { profiles: 1, bytes: 10 });
  assert.ok((await redis.pttl(`${pending.key}:withdrawn`)) > 0, "remembered for a while only");
  await queue.add("batch", { drain: true }, { jobId: "j.drain" });
  await pending.claim("j.drain", { maxProfiles: 10, maxBytes: 1_000 });
  assert.equal(await pending.withdraw(claimed!, { profiles: 1, bytes: 10 }), false);
  assert.deepEqual(await backlog.read(), { profiles: 1, bytes: 10 }, "still counted, by the job now");
});

test("a claim reads the list a window at a time, in order, up to its bounds; the job's data stays as it was added", async (t) => {
  const { queue, pending, backlog } = await setUp(t);
  // Many windows of the claim (64 entries), the job's hash written in parts (200 entries each), and
  // bounds that stop the claim in its eighth window.
  const waiting = Array.from({ length: 480 }, (_, i) => segment(`s${i}`, 1));
  await append(pending, backlog, ...waiting);
  await queue.add("batch", { drain: true }, { jobId: "wide.drain" });
  const claim = await pending.claim("wide.drain", { maxProfiles: 470, maxBytes: 1_000_000 });
  assert.deepEqual(
    claim?.entries.map((one) => one.batch),
    waiting.slice(0, 470).map((one) => one.batch),
  );
  assert.equal(claim?.more, true);
  assert.deepEqual(await pending.claimed("wide.drain"), claim?.entries, "read back from the job's hash");
  assert.deepEqual(await pending.claim("wide.drain", { maxProfiles: 1, maxBytes: 1 }), claim, "claimed once");
  assert.deepEqual(
    (await pending.list()).map((one) => one.batch),
    waiting.slice(470).map((one) => one.batch),
  );
  assert.deepEqual(JSON.parse((await queue.getJob("wide.drain"))!.asJSON().data), { drain: true }, "the segments are not in its data");
});

test("a drain job claimed by an earlier version, which kept its segments in its data, is read the same", async (t) => {
  const { queue, pending, backlog } = await setUp(t);
  await append(pending, backlog, segment("later", 1));
  const segments = [segment("a", 2), segment("b", 1)];
  const job = await queue.add("batch", { drain: true }, { jobId: "old.drain" });
  // What the earlier claim left in the job's hash.
  await job.updateData({ drain: true, segments });
  await redis.hset(queue.toKey("old.drain"), "claimed", 1, "backlog", "3:30");
  assert.deepEqual(await pending.claim("old.drain", { maxProfiles: 10, maxBytes: 1_000 }), { entries: segments, more: true });
  assert.deepEqual(await pending.claimed("old.drain"), segments);
  assert.equal(await pending.waiting(), 1, "the later segment waits for a job of its own");
});

test("a claim of an earlier version that does not parse fails the claim and its reading, rather than deliver nothing", async (t) => {
  const { queue, pending } = await setUp(t);
  const job = await queue.add("batch", { drain: true }, { jobId: "broken.drain" });
  await job.updateData({ drain: true, segments: [{ batch: 7 }] } as never);
  await redis.hset(queue.toKey("broken.drain"), "claimed", 1);
  const unreadable = /drain job broken\.drain: its claim cannot be read: a claim of an earlier version that does not parse/;
  await assert.rejects(pending.claim("broken.drain", { maxProfiles: 10, maxBytes: 1_000 }), unreadable);
  await assert.rejects(pending.claimed("broken.drain"), (error: unknown) => error instanceof UnreadableClaimError && unreadable.test(error.message));
  await redis.hset(queue.toKey("broken.drain"), "data", "{not JSON");
  await assert.rejects(pending.claimed("broken.drain"), (error: unknown) => error instanceof UnreadableClaimError && unreadable.test(error.message));
});

test("a claim missing one of its segments fails the claim and its reading, rather than deliver the others and drop it", async (t) => {
  const { queue, pending, backlog } = await setUp(t);
  await append(pending, backlog, segment("a", 1), segment("b", 1), segment("c", 1));
  await addDrainJob(queue, 3, "torn.drain");
  assert.equal((await pending.claim("torn.drain", { maxProfiles: 10, maxBytes: 1_000 }))?.entries.length, 3);
  await redis.hdel(queue.toKey("torn.drain"), "segment:2");
  const unreadable = /drain job torn\.drain: its claim cannot be read: segment:2 of 3 is missing/;
  await assert.rejects(pending.claim("torn.drain", { maxProfiles: 10, maxBytes: 1_000 }), unreadable);
  await assert.rejects(pending.claimed("torn.drain"), (error: unknown) => error instanceof UnreadableClaimError && unreadable.test(error.message));
});

test("a claimed segment that does not parse makes the claim unreadable, for the job to be listed failed rather than retried and lost", async (t) => {
  const { queue, pending, backlog } = await setUp(t);
  await append(pending, backlog, segment("a", 1));
  await redis.rpush(pending.key, "1:10:{not JSON", `1:10:${JSON.stringify({ batch: 7 })}`);
  await addDrainJob(queue, 3, "bad.drain");
  const unreadable = /drain job bad\.drain: its claim cannot be read: segment:2 of 3 is malformed/;
  const isUnreadable = (error: unknown) => error instanceof UnreadableClaimError && unreadable.test(error.message) && error.cause instanceof Error;
  await assert.rejects(pending.claim("bad.drain", { maxProfiles: 10, maxBytes: 1_000 }), isUnreadable);
  await assert.rejects(pending.claimed("bad.drain"), isUnreadable);
  await redis.hset(queue.toKey("bad.drain"), "segment:2", `1:10:${JSON.stringify(pointer(segment("b", 1)))}`);
  await assert.rejects(
    pending.claimed("bad.drain"),
    (error: unknown) => error instanceof UnreadableClaimError && /segment:3 of 3 is malformed/.test(error.message),
  );
});

test("a segment an earlier version appended whole, its profiles in the entry, is claimed and listed as it is", async (t) => {
  const { queue, pending, backlog } = await setUp(t);
  const whole = segment("whole", 2);
  await redis.rpush(pending.key, `2:20:${JSON.stringify(whole)}`);
  await append(pending, backlog, segment("pointed", 1));
  assert.deepEqual(await pending.list(), [whole, segment("pointed", 1)]);
  await queue.add("batch", { drain: true }, { jobId: "mixed.drain" });
  assert.deepEqual(await pending.claim("mixed.drain", { maxProfiles: 10, maxBytes: 1_000 }), { entries: [whole, pointer(segment("pointed", 1))], more: false });
});
