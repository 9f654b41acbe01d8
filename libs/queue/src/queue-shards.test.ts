import assert from "node:assert/strict";
import { after, test } from "node:test";
import { pollUntil, startRedisServer } from "@pyroscope-relay/testing";
import { FailedJobRetention } from "./failed-retention.js";
import { summarizeFailed } from "./failed-summary.js";
import { queueNameFor, shardOf } from "./keys.js";
import { PendingSegments } from "./pending-segments.js";
import { purgeFailed } from "./purge.js";
import { httpFailure, ingestFacts, PAYLOAD_TTL_MS, queueHarness, scriptedDelivery } from "./queue-harness.js";
import { replayFailed } from "./replay.js";
import { TargetBacklog } from "./target-backlog.js";

const server = await startRedisServer();
after(() => server.stop());

const SHARDS = 4;

async function backlogOf(h: { connection: Parameters<typeof summarizeFailed>[0]; prefix: string }, target: string) {
  const readings = await Promise.all(Array.from({ length: SHARDS }, (_, shard) => new TargetBacklog(h.connection, h.prefix, target, shard).read()));
  return {
    profiles: readings.reduce((sum, r) => sum + r.profiles, 0),
    bytes: readings.reduce((sum, r) => sum + r.bytes, 0),
    perShard: readings.map((r) => r.profiles),
  };
}

test("batches spread over a target's queue shards, each job on the shard its batch id picks; one worker drains them all", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"], { shards: SHARDS });
  const ids: string[] = [];
  // One at a time: each enqueue is a flush of its own, so a batch of its own.
  for (let i = 0; i < 40; i++) ids.push((await h.enqueuer.enqueue(Buffer.from(`profile ${i}`), ingestFacts(`n=${i}`), ["alpha"])).batchId);
  assert.equal(new Set(ids).size, 40);
  for (const id of ids) {
    const pending = await new PendingSegments(h.connection, h.prefix, "alpha", shardOf(id, SHARDS)).list();
    assert.ok(
      pending.some((segment) => segment.batch === id),
      `batch ${id} waits on shard ${shardOf(id, SHARDS)}`,
    );
  }
  const backlog = await backlogOf(h, "alpha");
  assert.equal(backlog.profiles, 40);
  assert.ok(backlog.perShard.filter((profiles) => profiles > 0).length >= 3, `batches on one or two shards only: ${backlog.perShard.join(", ")}`);

  const delivered: string[] = [];
  h.worker(
    "alpha",
    scriptedDelivery((query) => {
      delivered.push(query);
      return "deliver";
    }),
  );
  await pollUntil("every shard drained", async () => delivered.length === 40 && (await backlogOf(h, "alpha")).profiles === 0);
  assert.deepEqual(delivered.sort(), ids.map((_, i) => `n=${i}`).sort());
});

test("a pause of the target pauses every one of its shards", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"], { shards: SHARDS });
  await h.enqueuer.enqueue(Buffer.from("p"), ingestFacts("n=0"), ["alpha"]);
  h.worker(
    "alpha",
    scriptedDelivery(() => ({ retry: { reason: "http 503", status: 503, detail: "" }, pauseMs: 5_000 })),
  );
  const limiters = Array.from({ length: SHARDS }, (_, shard) => `${h.prefix}:${queueNameFor("alpha", shard)}:limiter`);
  await pollUntil("every shard's limiter set", async () => (await Promise.all(limiters.map((key) => h.connection.pttl(key)))).every((ttl) => ttl > 0));
});

test("failed, replay, purge and retention treat a target's shards as one, oldest first", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"], { shards: SHARDS });
  const failures = Array.from({ length: 12 }, (_, i) => httpFailure(400, `bad ${i}`));
  const enqueued = await h.fail("alpha", failures);
  assert.ok(new Set(enqueued.map((id) => shardOf(id, SHARDS))).size >= 2, "failed batches on more than one shard");
  // Shards are consumed side by side: the order of failure is not the order of enqueueing.
  const failedAt = new Map(await Promise.all(enqueued.map(async (id) => [id, (await h.queue("alpha", id).getJob(id))!.finishedOn!] as const)));
  const byState = async (ids: readonly string[], state: string) => {
    const states = await Promise.all(ids.map((id) => h.queue("alpha", id).getJobState(id)));
    return ids.filter((_, i) => states[i] === state);
  };
  /** Jobs in `older` failed no later than any in `newer` (jobs of two shards may fail in the same ms). */
  const assertOlder = (older: readonly string[], newer: readonly string[], what: string) =>
    assert.ok(Math.max(...older.map((id) => failedAt.get(id)!)) <= Math.min(...newer.map((id) => failedAt.get(id)!)), what);

  const summary = await summarizeFailed(h.connection, h.prefix, "alpha", SHARDS);
  assert.equal(summary.batches, 12);
  assert.equal(summary.newestAt, Math.max(...failedAt.values()), "the newest failure over all shards");
  assert.equal(summary.oldestAt, Math.min(...failedAt.values()), "the oldest failure over all shards");

  const replayed = await replayFailed({ connection: h.connection, prefix: h.prefix, target: "alpha", shards: SHARDS, payloadTtlMs: PAYLOAD_TTL_MS, limit: 3 });
  assert.deepEqual(replayed, { replayed: 3, replayedProfiles: 3, skipped: 0, notMatched: 0 });
  const waiting = await byState(enqueued, "waiting");
  const failed = await byState(enqueued, "failed");
  assert.equal(waiting.length, 3);
  assertOlder(waiting, failed, "the three oldest are replayed");

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
  assert.deepEqual(await retention.sweep(), [{ target: "alpha", removed: 5, payloadsDeleted: 5 }]);
  const kept = await byState(failed, "failed");
  assert.equal(kept.length, 4);
  assertOlder(
    failed.filter((id) => !kept.includes(id)),
    kept,
    "the oldest beyond the count go",
  );

  assert.deepEqual(await purgeFailed({ connection: h.connection, prefix: h.prefix, target: "alpha", shards: SHARDS }), {
    purged: 4,
    purgedProfiles: 4,
    payloadsDeleted: 4,
  });
  assert.equal((await summarizeFailed(h.connection, h.prefix, "alpha", SHARDS)).batches, 0);
});
