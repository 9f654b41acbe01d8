import assert from "node:assert/strict";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pollUntil, startRedisServer } from "@pyroscope-relay/testing";
import { httpFailure, ingestFacts, queueHarness, scriptedDelivery, type QueueHarness } from "./queue-harness.js";
import { FailedJobRetention, FailedJobRetentionError, type FailedJobRetentionOptions, type TargetSweep } from "./failed-retention.js";
import { batchClaimsKey, detachedClaimsKey, detachedProfileKey } from "./keys.js";
import { drainJobId } from "./batch-job.js";
import { readTargetStates } from "./target-state.js";

const server = await startRedisServer();
after(() => server.stop());

const DAY = 86_400_000;

function retention(t: { after(fn: () => Promise<void>): void }, h: QueueHarness, options: Partial<FailedJobRetentionOptions> = {}) {
  const errors: FailedJobRetentionError[] = [];
  const sweeps: TargetSweep[] = [];
  const sweeper = new FailedJobRetention({
    connection: h.connection,
    prefix: h.prefix,
    targets: ["alpha"],
    maxAgeMs: DAY,
    maxCount: 1_000,
    onSweep: (sweep) => sweeps.push(sweep),
    onError: (error) => errors.push(error),
    ...options,
  });
  t.after(() => sweeper.stop());
  return { sweeper, errors, sweeps };
}

test("removes failed batches older than the maximum age and deletes their profiles", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha", "beta"]);
  const old = await h.fail("alpha", [httpFailure(400, "a"), { reason: "timeout", detail: "" }], ["alpha", "beta"]);
  const oldOwn = await h.fail("alpha", [httpFailure(400, "own")]);
  await sleep(1_500);
  const recent = await h.fail("alpha", [httpFailure(400, "c")]);
  const { sweeper, sweeps, errors } = retention(t, h, { maxAgeMs: 1_000 });

  assert.deepEqual(await sweeper.sweep(), [{ target: "alpha", removed: 3, payloadsDeleted: 3 }]);
  assert.deepEqual(sweeps, [{ target: "alpha", removed: 3, payloadsDeleted: 3 }]);
  assert.deepEqual(errors, []);
  assert.deepEqual(
    (await h.queue("alpha").getFailed()).map((job) => job.id),
    recent,
  );
  for (const id of old) assert.deepEqual(await h.connection.smembers(batchClaimsKey(h.prefix, id)), ["beta"], "beta still has its batch");
  assert.equal(await h.connection.exists(detachedProfileKey(h.prefix, oldOwn[0]!, 0)), 0);
  assert.equal(await h.connection.exists(detachedProfileKey(h.prefix, recent[0]!, 0)), 1);
});

test("a Push removed by retention counts in the discarded totals as Alloy counts it, its samples and their raw bytes; an /ingest one profile of its body", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  await h.enqueuer.enqueue(Buffer.alloc(500), { kind: "push", receivedAt: 0, codec: "proto", series: 1, samples: 4, rawBytes: 380 }, ["alpha"]);
  await h.enqueuer.enqueue(Buffer.from("an ingest body"), ingestFacts(), ["alpha"]);
  h.worker(
    "alpha",
    scriptedDelivery(() => ({ fail: httpFailure(400, "refused") })),
  );
  await pollUntil("both batches failed", async () => (await h.queue("alpha").getFailedCount()) === 2);
  await sleep(20);
  const { sweeper } = retention(t, h, { maxAgeMs: 10 });
  assert.deepEqual(await sweeper.sweep(), [{ target: "alpha", removed: 2, payloadsDeleted: 2 }]);
  const [state] = await readTargetStates(h.connection, h.prefix, ["alpha"]);
  assert.deepEqual(state!.discarded.retention, { profiles: 4 + 1, bytes: 380 + 14 });
});

test("keeps at most the maximum count per target, removing the oldest", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const ids = await h.fail(
    "alpha",
    ["a", "b", "c", "d", "e"].map((detail) => httpFailure(400, detail)),
  );
  const { sweeper } = retention(t, h, { maxCount: 2, pageSize: 2 });
  assert.deepEqual(await sweeper.sweep(), [{ target: "alpha", removed: 3, payloadsDeleted: 3 }]);
  assert.deepEqual((await h.queue("alpha").getFailed()).map((job) => job.id).sort(), ids.slice(3).sort());
  assert.deepEqual(await sweeper.sweep(), [{ target: "alpha", removed: 0, payloadsDeleted: 0 }]);
});

test("a drain job BullMQ failed counts for no batch: the maximum count keeps as many batches as it says", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const ids = await h.fail(
    "alpha",
    ["a", "b", "c"].map((detail) => httpFailure(400, detail)),
  );
  // Two drain jobs in `failed`, left for the writers to split off.
  const failedKey = h.queue("alpha").toKey("failed");
  await h.connection.zadd(failedKey, 1, drainJobId(), 2, drainJobId());
  const { sweeper } = retention(t, h, { maxCount: 2 });
  assert.deepEqual(await sweeper.sweep(), [{ target: "alpha", removed: 1, payloadsDeleted: 1 }]);
  assert.deepEqual((await h.queue("alpha").getFailed()).map((job) => job.id).sort(), ids.slice(1).sort());
  assert.equal(await h.connection.zcard(failedKey), 4, "the drain jobs stay for the writers");
});

test("start sweeps at once and then every interval; stop ends it", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  await h.fail("alpha", [httpFailure(400, "a"), httpFailure(400, "b")]);
  const { sweeper, sweeps } = retention(t, h, { maxCount: 1, intervalMs: 50 });
  sweeper.start();
  sweeper.start();
  await h.fail("alpha", [httpFailure(400, "c"), httpFailure(400, "d")]);
  await pollUntil("the sweeps to leave one failed batch", async () => (await h.queue("alpha").getFailedCount()) <= 1);
  await sweeper.stop();
  const count = sweeps.length;
  assert.ok(count >= 2, `${count} sweeps`);
  await sleep(120);
  assert.equal(sweeps.length, count, "no sweep after stop");
});

test("stop ends a sweep under way between batches, without waiting out a release that waits to be tried again", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [stuck, ...rest] = await h.fail(
    "alpha",
    ["a", "b", "c"].map((detail) => httpFailure(400, detail)),
  );
  // The oldest batch's release fails (its claims are not a set): it would be tried again after 1, 5 and 15 s.
  await h.connection.set(detachedClaimsKey(h.prefix, stuck!, 0), "not a set");
  const { sweeper } = retention(t, h, { maxAgeMs: 1 });
  const sweep = sweeper.sweep();
  // The stuck batch's job is gone once its release starts failing.
  await pollUntil("the stuck batch's job to go", async () => (await h.queue("alpha").getFailedCount()) <= 2);
  const asked = Date.now();
  await sweeper.stop();
  const stopMs = Date.now() - asked;
  assert.ok(stopMs < 2_500, `stop took ${stopMs} ms`);
  await sweep;
  assert.deepEqual((await h.queue("alpha").getFailed()).map((job) => job.id).sort(), rest.sort(), "no batch is taken after stop");
});

test("a target that cannot be swept is reported and the others are still swept", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha", "beta"]);
  await h.fail("beta", [httpFailure(400, "a"), httpFailure(400, "b")]);
  await h.connection.set(h.queue("alpha").toKey("failed"), "not a sorted set");
  const { sweeper, errors } = retention(t, h, { targets: ["alpha", "beta"], maxCount: 1 });
  assert.deepEqual(await sweeper.sweep(), [{ target: "beta", removed: 1, payloadsDeleted: 1 }]);
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof FailedJobRetentionError);
  assert.equal(errors[0].target, "alpha");
  assert.match(errors[0].message, /sweep of alpha failed: WRONGTYPE/);
  assert.match(String((errors[0].cause as Error).message), /WRONGTYPE/);
});

test("after a reload it sweeps the new targets and leaves a removed target's failed batches alone", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha", "beta"]);
  await h.fail("alpha", [httpFailure(400, "a"), httpFailure(400, "b")]);
  await h.fail("beta", [httpFailure(400, "c"), httpFailure(400, "d")]);
  const { sweeper } = retention(t, h, { maxCount: 1 });
  await sweeper.setTargets(["beta"]);
  assert.deepEqual(await sweeper.sweep(), [{ target: "beta", removed: 1, payloadsDeleted: 1 }]);
  assert.equal(await h.queue("alpha").getFailedCount(), 2, "alpha is no longer swept");
});

test("refuses bounds that are not positive integers", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const base = { connection: h.connection, prefix: h.prefix, targets: ["alpha"], maxAgeMs: DAY, maxCount: 10, onError: () => undefined };
  assert.throws(() => new FailedJobRetention({ ...base, maxAgeMs: 0 }), RangeError);
  assert.throws(() => new FailedJobRetention({ ...base, maxCount: 1.5 }), RangeError);
});
