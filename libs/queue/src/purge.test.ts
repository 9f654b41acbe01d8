import assert from "node:assert/strict";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pollUntil, startRedisServer } from "@pyroscope-relay/testing";
import type { ProfileFacts } from "./batch-data.js";
import { scanFailedJobs, type FailedJob } from "./failed-job-scan.js";
import { JobLifecycle } from "./job-lifecycle.js";
import { batchClaimsKey, chunkKey, detachedClaimsKey, detachedProfileKey } from "./keys.js";
import { purgeFailed, type PurgeOptions } from "./purge.js";
import { httpFailure, ingestFacts, queueHarness, scriptedDelivery, type QueueHarness } from "./queue-harness.js";
import { readTargetStates } from "./target-state.js";

const server = await startRedisServer();
after(() => server.stop());

async function collectFailed(h: QueueHarness): Promise<FailedJob[][]> {
  const pages: FailedJob[][] = [];
  for await (const page of scanFailedJobs(h.connection, h.queue("alpha"))) pages.push(page);
  return pages;
}

function purge(h: QueueHarness, options: Partial<PurgeOptions> = {}) {
  return purgeFailed({ connection: h.connection, prefix: h.prefix, target: "alpha", ...options });
}

test("removes every failed batch and deletes the profiles no other job holds", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha", "beta"]);
  const [shared, ...own] = [
    ...(await h.fail("alpha", [httpFailure(400, "shared")], ["alpha", "beta"])),
    ...(await h.fail(
      "alpha",
      Array.from({ length: 120 }, (_, i) => httpFailure(400, String(i))),
    )),
  ];
  assert.deepEqual(await purge(h, { pageSize: 50 }), { purged: 121, purgedProfiles: 121, payloadsDeleted: 121 });
  assert.equal(await h.queue("alpha").getFailedCount(), 0);
  assert.deepEqual(await h.connection.smembers(batchClaimsKey(h.prefix, shared!)), ["beta"], "beta's batch job still needs its chunks");
  assert.equal(await h.connection.exists(chunkKey(h.prefix, shared!, 0)), 1);
  assert.deepEqual(await h.connection.keys(`${h.prefix}:batch:*:profile:*`), [], "no copy is left");
  assert.equal(await h.queue("alpha").getJob(own[0]!), undefined);
  assert.deepEqual(await purge(h), { purged: 0, purgedProfiles: 0, payloadsDeleted: 0 });
});

test("with olderThan, removes only batches that failed at least that long ago", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const old = await h.fail("alpha", [httpFailure(400, "a"), { reason: "timeout", detail: "" }]);
  await sleep(1_500);
  const recent = await h.fail("alpha", [httpFailure(400, "c")]);
  assert.deepEqual(await purge(h, { olderThanMs: 1_000 }), { purged: 2, purgedProfiles: 2, payloadsDeleted: 2 });
  assert.equal(await h.queue("alpha").getJobState(recent[0]!), "failed");
  assert.equal(await h.connection.exists(old.map((id) => detachedProfileKey(h.prefix, id, 0))), 0);
});

test("a dry run counts what it would remove and changes nothing; given its time, the purge removes no batch that failed after", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const counted = await h.fail("alpha", [httpFailure(400, "a"), httpFailure(400, "b"), httpFailure(503, "down")]);
  const dump = async () => Promise.all((await h.connection.keys(`${h.prefix}:*`)).sort().map(async (key) => [key, await h.connection.dump(key)]));
  const snapshot = await dump();
  const asOfMs = Date.now();
  assert.deepEqual(await purge(h, { reason: "http 400", dryRun: true, asOfMs }), { purged: 2, purgedProfiles: 2, payloadsDeleted: 0 });
  assert.deepEqual(await dump(), snapshot);
  await sleep(50);
  const later = await h.fail("alpha", [httpFailure(400, "later")]);

  assert.deepEqual(await purge(h, { reason: "http 400", asOfMs }), { purged: 2, purgedProfiles: 2, payloadsDeleted: 2 });
  const queue = h.queue("alpha");
  assert.deepEqual(await Promise.all([...counted, ...later].map(async (id) => (await queue.getJob(id)) === undefined)), [true, true, false, false]);
});

test("with reason and status, removes only the batches that failed that way, as replay matches them", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [bad, unavailable, timeout, conflict] = await h.fail("alpha", [
    httpFailure(400, "bad"),
    httpFailure(503, "down"),
    { reason: "timeout", detail: "" },
    httpFailure(409, "conflict"),
  ]);
  assert.deepEqual(await purge(h, { reason: "http 400" }), { purged: 1, purgedProfiles: 1, payloadsDeleted: 1 });
  assert.equal(await h.queue("alpha").getJob(bad!), undefined);
  assert.deepEqual(await purge(h, { status: 409 }), { purged: 1, purgedProfiles: 1, payloadsDeleted: 1 });
  assert.equal(await h.queue("alpha").getJob(conflict!), undefined);
  assert.deepEqual(await purge(h, { reason: "http", status: 400 }), { purged: 0, purgedProfiles: 0, payloadsDeleted: 0 }, "both must match");
  for (const kept of [unavailable!, timeout!]) assert.equal(await h.queue("alpha").getJobState(kept), "failed");
  assert.equal(await h.connection.exists(detachedProfileKey(h.prefix, unavailable!, 0), detachedProfileKey(h.prefix, timeout!, 0)), 2);
});

test("with exactReason, removes only the batches of that kind whole, not those it is the leading words of", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [plain, coded] = await h.fail("alpha", [httpFailure(422, "plain"), { reason: "http 422 invalid_argument", status: 422, detail: "coded" }]);
  assert.deepEqual(await purge(h, { reason: "http 422", exactReason: true }), { purged: 1, purgedProfiles: 1, payloadsDeleted: 1 });
  assert.equal(await h.queue("alpha").getJob(plain!), undefined);
  assert.equal(await h.queue("alpha").getJobState(coded!), "failed");
});

test("leaves a batch a writer holds, and removes one whose data it cannot read without releasing", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [held, unreadable] = await h.fail("alpha", [httpFailure(400, "a"), httpFailure(400, "b")]);
  const queue = h.queue("alpha");
  // A writer's lock, as while it delivers a batch replayed moments ago.
  await h.connection.set(`${queue.toKey(held!)}:lock`, "writer-token", "PX", 10_000);
  await (await queue.getJob(unreadable!))!.updateData({ kind: "from a future version" } as never);

  assert.deepEqual(await purge(h), { purged: 1, purgedProfiles: 0, payloadsDeleted: 0 });
  assert.equal(await queue.getJobState(held!), "failed");
  assert.equal(await queue.getJob(unreadable!), undefined);
  assert.equal(
    await h.connection.exists(detachedProfileKey(h.prefix, held!, 0), detachedProfileKey(h.prefix, unreadable!, 0)),
    2,
    "TTL reclaims the unreadable one",
  );
});

test("surfaces Redis errors, the failed batch kept", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [id] = await h.fail("alpha", [httpFailure(400, "a")]);
  const queue = h.queue("alpha");
  await h.connection.set(queue.toKey(id!), "not a hash");
  await assert.rejects(purge(h), /WRONGTYPE/);
  assert.notEqual(await h.connection.zscore(queue.toKey("failed"), id!), null);
});

test("a batch replayed after the scan read it is left alone, its claim kept", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [id] = await h.fail("alpha", [httpFailure(400, "a")]);
  const queue = h.queue("alpha");
  const failedAt = Number(await h.connection.zscore(queue.toKey("failed"), id!));
  const scanned = { job: (await queue.getJob(id!))!, data: undefined, failure: httpFailure(400, "a"), failedAt };
  await (await queue.getJob(id!))!.retry("failed", { resetAttemptsMade: true });

  const lifecycle = new JobLifecycle({ connection: h.connection, prefix: h.prefix, target: "alpha" });
  t.after(() => lifecycle.close());
  assert.deepEqual(await lifecycle.discard(scanned, "purge"), { removed: false, profiles: 0, payloadsDeleted: 0 });
  assert.equal(await queue.getJobState(id!), "waiting");
  assert.deepEqual(await h.connection.smembers(detachedClaimsKey(h.prefix, id!, 0)), [`${id}@alpha`]);
});

test("a discard whose script ran but whose reply was lost (sent again after a reconnect) still lets go of the copies", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [id] = await h.fail("alpha", [httpFailure(400, "a")]);
  const queue = h.queue("alpha");
  const [[scanned]] = (await collectFailed(h)) as [[FailedJob]];
  // What the first run did: the job gone from the failed set and Redis.
  await h.connection.zrem(queue.toKey("failed"), id!);
  await h.connection.del(queue.toKey(id!));

  const lifecycle = new JobLifecycle({ connection: h.connection, prefix: h.prefix, target: "alpha" });
  t.after(() => lifecycle.close());
  assert.deepEqual(await lifecycle.discard(scanned, "purge"), { removed: false, profiles: 0, payloadsDeleted: 0 });
  assert.deepEqual(await h.connection.smembers(detachedClaimsKey(h.prefix, id!, 0)), []);
  assert.equal(await h.connection.exists(detachedProfileKey(h.prefix, id!, 0)), 0, "the copy is deleted");
});

test("a batch that failed again after the scan read it (replayed meanwhile) is not the one the purge decided on: left alone", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [id] = await h.fail("alpha", [httpFailure(400, "a")]);
  const queue = h.queue("alpha");
  const [[scanned]] = (await collectFailed(h)) as [[FailedJob]];
  // Replayed and failed anew by a writer: a later failure time.
  await h.connection.zadd(queue.toKey("failed"), scanned.failedAt + 1_000, id!);

  const lifecycle = new JobLifecycle({ connection: h.connection, prefix: h.prefix, target: "alpha" });
  t.after(() => lifecycle.close());
  assert.deepEqual(await lifecycle.discard(scanned, "purge"), { removed: false, profiles: 0, payloadsDeleted: 0 });
  assert.equal(await queue.getJobState(id!), "failed");
  assert.deepEqual(await h.connection.smembers(detachedClaimsKey(h.prefix, id!, 0)), [`${id}@alpha`]);
  assert.deepEqual(
    await lifecycle.discard({ ...scanned, failedAt: scanned.failedAt + 1_000 }, "purge"),
    { removed: true, profiles: 1, payloadsDeleted: 1 },
    "as it is now, it goes",
  );
});

test("a purged batch whose copies cannot be let go of at first (their master down a moment) has them let go of on a later try", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [id] = await h.fail("alpha", [httpFailure(400, "a")]);
  const claims = detachedClaimsKey(h.prefix, id!, 0);
  // The copy's claims turn into a value the release cannot read; they are back half a second later,
  // before the release's next try.
  await h.connection.rename(claims, `${claims}:aside`);
  await h.connection.set(claims, "not a set");
  const restored = sleep(500).then(() => h.connection.multi().del(claims).rename(`${claims}:aside`, claims).exec());
  assert.deepEqual(await purge(h), { purged: 1, purgedProfiles: 1, payloadsDeleted: 1 });
  await restored;
  assert.deepEqual(await h.connection.keys(`${h.prefix}:batch:*`), [], "nothing left for the TTL");
});

/** Stores each profile for alpha in a flush of its own and has a writer fail them all for good, a failed batch each. */
async function failAll(h: QueueHarness, profiles: readonly { payload: Buffer; facts: ProfileFacts }[]): Promise<void> {
  for (const { payload, facts } of profiles) await h.enqueuer.enqueue(payload, facts, ["alpha"]);
  h.worker(
    "alpha",
    scriptedDelivery(() => ({ fail: httpFailure(400, "refused") })),
  );
  await pollUntil("every batch failed", async () => (await h.queue("alpha").getFailedCount()) === profiles.length);
}

async function purgedTotals(h: QueueHarness): Promise<{ profiles: number; bytes: number }> {
  const [state] = await readTargetStates(h.connection, h.prefix, ["alpha"]);
  return state!.discarded.purge;
}

const pushFacts = { kind: "push", receivedAt: 0, codec: "proto", series: 1 } as const;

test("a purged Push counts in the discarded totals as Alloy counts it, its samples and their raw bytes; an /ingest one profile of its body", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  await failAll(h, [
    { payload: Buffer.alloc(500), facts: { ...pushFacts, samples: 3, rawBytes: 420 } },
    { payload: Buffer.from("an ingest body"), facts: ingestFacts() },
  ]);
  assert.deepEqual(await purge(h), { purged: 2, purgedProfiles: 2, payloadsDeleted: 2 }, "the command counts stored profiles");
  assert.deepEqual(await purgedTotals(h), { profiles: 3 + 1, bytes: 420 + 14 });
});

test("a purged Push stored by an earlier version, its reference without samples, counts one profile of its stored bytes", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  await failAll(h, [{ payload: Buffer.alloc(300), facts: pushFacts }]);
  assert.deepEqual(await purge(h), { purged: 1, purgedProfiles: 1, payloadsDeleted: 1 });
  assert.deepEqual(await purgedTotals(h), { profiles: 1, bytes: 300 });
});
