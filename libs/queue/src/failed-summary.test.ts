import assert from "node:assert/strict";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startRedisServer } from "@pyroscope-relay/testing";
import { failedJobsHarness } from "./failed-jobs-harness.js";
import { summarizeFailed } from "./failed-summary.js";

const server = await startRedisServer();
after(() => server.stop());

test("counts failed jobs by reason, largest group first, with oldest and newest failure times", async (t) => {
  const h = await failedJobsHarness(t, server.url, ["alpha", "beta"]);
  const started = Date.now();
  await h.fail("alpha", ["http 400: bad profile", "network ECONNREFUSED", "http 400: other body"]);
  await sleep(20);
  await h.fail("alpha", ["timeout", "http 400: newest body"]);

  const summary = await summarizeFailed(h.connection, h.prefix, "alpha");
  assert.equal(summary.target, "alpha");
  assert.equal(summary.total, 5);
  assert.deepEqual(summary.reasons.map((r) => [r.reason, r.status, r.count, r.lastDetail]), [
    ["http 400", 400, 3, "newest body"],
    ["network ECONNREFUSED", undefined, 1, ""],
    ["timeout", undefined, 1, ""],
  ]);
  const failed = await h.queue("alpha").getFailed();
  const times = failed.map((job) => job.finishedOn!);
  assert.equal(summary.oldestAt, Math.min(...times));
  assert.equal(summary.newestAt, Math.max(...times));
  assert.ok(summary.oldestAt! >= started);
  const http400 = summary.reasons[0]!;
  assert.ok(http400.oldestAt === summary.oldestAt && http400.newestAt === summary.newestAt);
  const timeout = summary.reasons[2]!;
  assert.ok(timeout.oldestAt === timeout.newestAt && timeout.oldestAt > http400.oldestAt);

  assert.deepEqual(await summarizeFailed(h.connection, h.prefix, "beta"), { target: "beta", total: 0, reasons: [] });
});

test("summarizes more failed jobs than one page holds", async (t) => {
  const h = await failedJobsHarness(t, server.url, ["alpha"]);
  await h.fail("alpha", Array.from({ length: 230 }, (_, i) => (i % 2 === 0 ? "http 400: x" : "http 500: y")));
  const summary = await summarizeFailed(h.connection, h.prefix, "alpha");
  assert.equal(summary.total, 230);
  assert.deepEqual(summary.reasons.map((r) => [r.reason, r.count]), [["http 400", 115], ["http 500", 115]]);
});

test("surfaces Redis errors", async (t) => {
  const h = await failedJobsHarness(t, server.url, ["alpha"]);
  await h.connection.set(h.queue("alpha").toKey("failed"), "not a sorted set");
  await assert.rejects(summarizeFailed(h.connection, h.prefix, "alpha"), /WRONGTYPE/);
});
