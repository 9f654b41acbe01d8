import assert from "node:assert/strict";
import { test } from "node:test";
import { backlogBytesKey, Enqueuer } from "@pyroscope-relay/queue";
import { gzippedPprof, startFakeTarget } from "@pyroscope-relay/testing";
import { eventually, failedJob, ingestData, redisForFile, targetConfig } from "./writer-harness.js";

const { relay } = await redisForFile();

test("the writer counts a job out of its target's backlog when it is delivered or fails for good", async (t) => {
  const ok = await startFakeTarget();
  const strict = await startFakeTarget();
  strict.respond(() => ({ status: 400, body: "bad profile" }));
  const targets = [targetConfig("ok", ok.url), targetConfig("strict", strict.url)];
  const r = await relay(t, targets, { start: false, fakes: [ok, strict] });
  // The harness' enqueuer has no bounds and so counts nothing: this one does, on the same prefix.
  const enqueuer = new Enqueuer({ connection: r.admin, prefix: r.prefix, payloadTtlMs: 60_000, targets, backlog: { maxJobs: 10, maxBytes: 0, policy: "drop" } });
  t.after(() => enqueuer.close());
  const profiles = [gzippedPprof({ seed: 1 }), gzippedPprof({ seed: 2 })];
  const ids: string[] = [];
  for (const profile of profiles) ids.push((await enqueuer.enqueue(profile, ingestData(), ["ok", "strict"])).payloadId);
  const total = profiles.reduce((sum, profile) => sum + profile.length, 0);
  const counted = async (target: string) => Number((await r.admin.get(backlogBytesKey(r.prefix, target))) ?? 0);
  assert.deepEqual([await counted("ok"), await counted("strict")], [total, total]);

  r.start();
  await eventually("ok's backlog to empty", async () => (await counted("ok")) === 0);
  for (const id of ids) await failedJob(r.queue("strict"), id);
  await eventually("strict's backlog to empty", async () => (await counted("strict")) === 0);
  assert.equal(await r.admin.exists(backlogBytesKey(r.prefix, "ok"), backlogBytesKey(r.prefix, "strict")), 0, "counters at 0 are deleted");
  assert.equal(ok.requests.length, 2);
});
