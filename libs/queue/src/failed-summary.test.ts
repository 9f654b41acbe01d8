import assert from "node:assert/strict";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pollUntil, startRedisServer } from "@pyroscope-relay/testing";
import { summarizeFailed } from "./failed-summary.js";
import { httpFailure, ingestFacts, queueHarness, scriptedDelivery } from "./queue-harness.js";

const server = await startRedisServer();
after(() => server.stop());

test("counts failed batches and their profiles by reason, most profiles first, with oldest and newest failure times", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha", "beta"]);
  const started = Date.now();
  await h.fail("alpha", [httpFailure(400, "bad profile"), { reason: "network ECONNREFUSED", detail: "" }, httpFailure(400, "other body")]);
  await sleep(20);
  await h.fail("alpha", [{ reason: "timeout", detail: "" }, httpFailure(400, "newest body")]);
  // One batch of three profiles that all time out: one failed batch, three profiles.
  await Promise.all([0, 1, 2].map((i) => h.enqueuer.enqueue(Buffer.from(`t${i}`), ingestFacts(`t=${i}`), ["alpha"])));
  h.worker(
    "alpha",
    scriptedDelivery(() => ({ retry: { reason: "timeout", detail: "" } })),
    { backoffMs: () => 1 },
  );
  await pollUntil("6 failed batches", async () => (await h.queue("alpha").getFailedCount()) >= 6);

  const summary = await summarizeFailed(h.connection, h.prefix, "alpha");
  assert.equal(summary.target, "alpha");
  assert.equal(summary.batches, 6);
  assert.equal(summary.profiles, 8);
  assert.deepEqual(
    summary.reasons.map((r) => [r.reason, r.status, r.batches, r.profiles, r.lastDetail]),
    [
      ["timeout", undefined, 2, 4, ""],
      ["http 400", 400, 3, 3, "newest body"],
      ["network ECONNREFUSED", undefined, 1, 1, ""],
    ],
  );
  const failed = await h.queue("alpha").getFailed();
  const times = failed.map((job) => job.finishedOn!);
  assert.equal(summary.oldestAt, Math.min(...times));
  assert.equal(summary.newestAt, Math.max(...times));
  assert.ok(summary.oldestAt! >= started);
  const http400 = summary.reasons[1]!;
  assert.ok(http400.oldestAt === summary.oldestAt);

  assert.deepEqual(await summarizeFailed(h.connection, h.prefix, "beta"), { target: "beta", batches: 0, profiles: 0, reasons: [] });
});

test("summarizes more failed batches than one page holds", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  await h.fail(
    "alpha",
    Array.from({ length: 230 }, (_, i) => (i % 2 === 0 ? httpFailure(400, "x") : httpFailure(500, "y"))),
  );
  const summary = await summarizeFailed(h.connection, h.prefix, "alpha");
  assert.equal(summary.batches, 230);
  assert.deepEqual(
    summary.reasons.map((r) => [r.reason, r.batches]),
    [
      ["http 400", 115],
      ["http 500", 115],
    ],
  );
});

test("surfaces Redis errors", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  await h.connection.set(h.queue("alpha").toKey("failed"), "not a sorted set");
  await assert.rejects(summarizeFailed(h.connection, h.prefix, "alpha"), /WRONGTYPE/);
});
