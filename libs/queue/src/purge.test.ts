import assert from "node:assert/strict";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startRedisServer } from "@pyroscope-relay/testing";
import { failedJobsHarness, type FailedJobsHarness } from "./failed-jobs-harness.js";
import { payloadKey, pendingKey } from "./keys.js";
import { PayloadStore } from "./payload-store.js";
import { purgeFailed, type PurgeOptions } from "./purge.js";
import { discardFailedJob } from "./discard-failed-job.js";

const server = await startRedisServer();
after(() => server.stop());

function purge(h: FailedJobsHarness, options: Partial<PurgeOptions> = {}) {
  return purgeFailed({ connection: h.connection, prefix: h.prefix, target: "alpha", ...options });
}

test("removes every failed job and deletes the payloads no other target owes", async (t) => {
  const h = await failedJobsHarness(t, server.url, ["alpha", "beta"]);
  const [shared, ...own] = [
    ...(await h.fail("alpha", ["http 400: shared"], ["alpha", "beta"])),
    ...(await h.fail("alpha", Array.from({ length: 120 }, (_, i) => `http 400: ${i}`))),
  ];
  assert.deepEqual(await purge(h, { pageSize: 50 }), { purged: 121, payloadsDeleted: 120 });
  assert.equal(await h.queue("alpha").getFailedCount(), 0);
  assert.deepEqual(await new PayloadStore(h.connection, h.prefix).pending(shared!), ["beta"], "still owed to beta");
  assert.equal(await h.connection.exists(own.map((id) => payloadKey(h.prefix, id))), 0);
  assert.deepEqual((await h.connection.keys(`${h.prefix}:payload:*`)).sort(), [payloadKey(h.prefix, shared!), pendingKey(h.prefix, shared!)].sort());
  assert.deepEqual(await h.queue("alpha").getJob(own[0]!), undefined);
  assert.deepEqual(await purge(h), { purged: 0, payloadsDeleted: 0 });
});

test("with olderThan, removes only jobs that failed at least that long ago", async (t) => {
  const h = await failedJobsHarness(t, server.url, ["alpha"]);
  const old = await h.fail("alpha", ["http 400: a", "timeout"]);
  await sleep(300);
  const recent = await h.fail("alpha", ["http 400: c"]);
  assert.deepEqual(await purge(h, { olderThanMs: 200 }), { purged: 2, payloadsDeleted: 2 });
  assert.equal(await h.queue("alpha").getJobState(recent[0]!), "failed");
  assert.equal(await h.connection.exists(old.map((id) => payloadKey(h.prefix, id))), 0);
});

test("leaves a job a writer holds, and removes a job whose data it cannot read without releasing", async (t) => {
  const h = await failedJobsHarness(t, server.url, ["alpha"]);
  const [held, unreadable] = await h.fail("alpha", ["http 400: a", "http 400: b"]);
  const queue = h.queue("alpha");
  // A writer's lock, as while it delivers a job replayed moments ago.
  await h.connection.set(`${queue.toKey(held!)}:lock`, "writer-token", "PX", 10_000);
  await (await queue.getJob(unreadable!))!.updateData({ kind: "from a future version" } as never);

  assert.deepEqual(await purge(h), { purged: 1, payloadsDeleted: 0 });
  assert.equal(await queue.getJobState(held!), "failed");
  assert.equal(await queue.getJob(unreadable!), undefined);
  assert.equal(await h.connection.exists(payloadKey(h.prefix, held!), payloadKey(h.prefix, unreadable!)), 2, "TTL reclaims the unreadable one");
});

test("surfaces Redis errors", async (t) => {
  const h = await failedJobsHarness(t, server.url, ["alpha"]);
  const [id] = await h.fail("alpha", ["http 400: a"]);
  await h.connection.set(pendingKey(h.prefix, id!), "not a set");
  await assert.rejects(purge(h), /WRONGTYPE/);
});

test("a job replayed after the scan read it is left alone, its claim kept", async (t) => {
  const h = await failedJobsHarness(t, server.url, ["alpha"]);
  const [id] = await h.fail("alpha", ["http 400: a"]);
  const queue = h.queue("alpha");
  const scanned = (await queue.getJob(id!))!;
  await (await queue.getJob(id!))!.retry("failed", { resetAttemptsMade: true });

  const store = new PayloadStore(h.connection, h.prefix);
  assert.deepEqual(await discardFailedJob(h.connection, queue, store, "alpha", scanned), { removed: false, payloadDeleted: false });
  assert.equal(await queue.getJobState(id!), "waiting");
  assert.deepEqual(await store.pending(id!), ["alpha"]);
});
