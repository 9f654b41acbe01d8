import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { batchJobData, chunkKey, detachedProfileKey, drainJobId, replayFailed, summarizeFailed } from "@pyroscope-relay/queue";
import type { Redis } from "ioredis";
import { commandCalls, gzippedPprof, startFakeTarget, targetConfig } from "@pyroscope-relay/testing";
import { counter, eventually, failedJob, ingestData, latencyCount, redisForFile } from "./writer-harness.js";

const { relay } = await redisForFile();

test("stores a batch once for 3 targets and deletes it only after the last delivery", async (t) => {
  const fakes = [await startFakeTarget(), await startFakeTarget(), await startFakeTarget()];
  const [a, b, c] = fakes as [(typeof fakes)[0], (typeof fakes)[0], (typeof fakes)[0]];
  const targets = [targetConfig("a", { url: a.url }), targetConfig("b", { url: b.url }), targetConfig("c", { url: c.url })];
  const r = await relay(t, targets, { fakes });
  b.hold();
  const mgetsBefore = await commandCalls(r.admin, "mget");
  const profiles = [gzippedPprof({ seed: 7 }), gzippedPprof({ seed: 8 })];
  const [first, second] = await Promise.all(profiles.map((profile) => r.enqueuer.enqueue(profile, ingestData(), ["a", "b", "c"])));
  assert.equal(first!.batchId, second!.batchId, "one flush");
  const batchId = first!.batchId;

  await Promise.all([a.waitForRequests(2), b.waitForRequests(2), c.waitForRequests(2)]);
  for (const fake of fakes) assert.deepEqual(fake.requests.map((request) => request.body).sort(Buffer.compare), [...profiles].sort(Buffer.compare));
  assert.equal((await commandCalls(r.admin, "mget")) - mgetsBefore, 2, "the writer read the batch's references and bytes once each for its 3 targets");
  // a and c have released their claims; b's answers are held, so b still needs the batch.
  await eventually("a and c to release", async () => (await r.claims(batchId)).join() === "b");
  assert.equal(await r.batchExists(batchId), true, "payload deleted while b still needs it");
  // One copy of the bytes and of the references, whatever the number of targets: the batch's chunks, references and claims.
  const keys = await r.payloadKeys();
  assert.deepEqual(keys.filter((key) => !key.includes(":chunk:")).sort(), [`${r.prefix}:batch:{${batchId}}:claims`, `${r.prefix}:batch:{${batchId}}:refs`]);
  let stored = 0;
  for (const key of keys.filter((key) => key.includes(":chunk:"))) stored += await r.admin.strlen(key);
  assert.equal(stored, profiles[0]!.length + profiles[1]!.length);

  b.release();
  await eventually("the payload to be deleted", async () => (await r.payloadKeys()).length === 0);
  for (const name of ["a", "b", "c"]) {
    const queue = r.queue(name);
    assert.equal(await queue.getJob(drainJobId(batchId)), undefined, `${name}: completed job kept`);
    assert.deepEqual(await queue.getJobCounts("completed", "failed", "waiting", "delayed", "active"), {
      completed: 0,
      failed: 0,
      waiting: 0,
      delayed: 0,
      active: 0,
    });
    assert.equal(await counter(r.metrics.writeSentProfiles, name), 2);
    assert.equal(await counter(r.metrics.writeSentBytes, name), profiles[0]!.length + profiles[1]!.length);
    assert.equal(await latencyCount(r.metrics.writeLatency, name, { type: "ingest_downstream" }), 2);
  }
  for (const fake of fakes) assert.equal(fake.requests.length, 2);
});

test("a batch with one poison profile delivers the others; the poison one is listed failed and replay delivers it", async (t) => {
  const target = await startFakeTarget();
  let fixed = false;
  target.respond((request) =>
    !fixed && request.query.includes("poison") ? { status: 400, body: '{"code":"invalid_argument","message":"malformed"}' } : undefined,
  );
  const r = await relay(t, [targetConfig("a", { url: target.url })], { fakes: [target] });
  const queries = ["name=one", "name=poison", "name=two", "name=three"];
  const results = await Promise.all(queries.map((query, i) => r.enqueuer.enqueue(gzippedPprof({ seed: i }), ingestData({ query }), ["a"])));
  const batchId = results[0]!.batchId;

  const failed = await failedJob(r.queue("a"), batchId);
  const delivered = () => target.requests.filter((request) => !request.query.includes("poison") || fixed).length;
  await eventually("the other three to be delivered", async () => delivered() === 3);
  const data = batchJobData.parse(failed.data);
  assert.deepEqual(
    data.profiles.map((ref) => ref.kind === "ingest" && ref.query),
    ["name=poison"],
  );
  assert.match(failed.failedReason, /^http 400: .*malformed/);
  const summary = await summarizeFailed(r.admin, r.prefix, "a");
  assert.deepEqual([summary.batches, summary.profiles, summary.reasons[0]?.reason], [1, 1, "http 400"]);
  assert.equal(await r.admin.exists(chunkKey(r.prefix, batchId, 0)), 0, "the batch's chunks are gone");
  assert.equal(await r.admin.exists(detachedProfileKey(r.prefix, batchId, 1)), 1, "the poison profile is kept");

  fixed = true;
  const replayed = await replayFailed({ connection: r.admin, prefix: r.prefix, target: "a", payloadTtlMs: 3_600_000 });
  assert.deepEqual(replayed, { replayed: 1, replayedProfiles: 1, skipped: 0, notMatched: 0 });
  await eventually("the replayed profile to be delivered", async () => target.requests.filter((request) => request.query.includes("poison")).length === 2);
  await eventually("nothing left", async () => (await r.payloadKeys()).length === 0);
  assert.equal(await r.queue("a").getJob(batchId), undefined);
});

test("a batch whose payload is gone fails at once, naming the expired payload", async (t) => {
  const target = await startFakeTarget();
  const r = await relay(t, [targetConfig("a", { url: target.url })], { start: false, fakes: [target] });
  const { batchId } = await r.enqueuer.enqueue(gzippedPprof(), ingestData(), ["a"]);
  await r.admin.del(chunkKey(r.prefix, batchId, 0));
  r.start();

  const job = await failedJob(r.queue("a"), batchId);
  assert.match(job.failedReason, /payload expired/);
  assert.equal(job.attemptsMade, 1);
  assert.equal(target.requests.length, 0);
  assert.equal(await counter(r.metrics.failedProfiles, "a", { reason: "payload expired" }), 1);
  assert.equal(await counter(r.metrics.writeDroppedProfiles, "a"), 0);
});

test("a target that is down does not delay another", async (t) => {
  const down = await startFakeTarget();
  const healthy = await startFakeTarget();
  down.respond(() => ({ status: 503, body: "down for maintenance" }));
  const r = await relay(t, [targetConfig("down", { url: down.url, maxBackoffRetries: 0 }), targetConfig("healthy", { url: healthy.url })], {
    concurrency: 1,
    fakes: [down, healthy],
  });
  const count = 20;
  const started = Date.now();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push((await r.enqueuer.enqueue(gzippedPprof({ seed: i, samples: 3 }), ingestData(), ["down", "healthy"])).batchId);
  }
  const received = await healthy.waitForRequests(count, 15_000);
  const elapsed = received[count - 1]!.at - started;
  t.diagnostic(`healthy target got ${count} profiles in ${elapsed} ms; the down one had ${down.requests.length} attempts`);
  assert.ok(elapsed < 6_000, `healthy target took ${elapsed} ms`);
  assert.ok(down.requests.length >= 1, "the down target was tried too");
  // The payloads stay for the target that still needs them.
  await eventually("healthy releases", async () => (await r.claims(ids[count - 1]!)).join() === "down");
});

test("writer.close() waits for active deliveries, then stops fetching", async (t) => {
  const target = await startFakeTarget();
  const r = await relay(t, [targetConfig("a", { url: target.url })], { fakes: [target] });
  target.hold();
  const { batchId } = await r.enqueuer.enqueue(gzippedPprof(), ingestData(), ["a"]);
  await target.waitForRequests(1);
  // The worker's blocking connection (BullMQ's own, unnamed) next to ours.
  const ours = ["pyroscope-relay-admin", "pyroscope-relay-producer", "pyroscope-relay-worker"];
  await eventually("the blocking connection", async () => (await clientNames(r.admin)).length > ours.length);

  let closed = false;
  const closing = r.writer!.close().then(() => {
    closed = true;
  });
  await sleep(150);
  assert.equal(closed, false, "close() returned while a delivery was in flight");
  target.release();
  await closing;
  await r.writer!.close(); // a second close (a second signal) is harmless
  // Delivered and released before close() returned.
  assert.equal(await r.batchExists(batchId), false);
  assert.equal(await r.queue("a").getJob(drainJobId(batchId)), undefined);
  // BullMQ's blocking connections are gone.
  await eventually("only our connections to remain", async () => (await clientNames(r.admin)).join() === ours.join(), 2_000);

  // Nothing is fetched any more.
  const second = await r.enqueuer.enqueue(gzippedPprof(), ingestData(), ["a"]);
  await sleep(200);
  assert.equal(target.requests.length, 1);
  assert.ok(["waiting", "delayed"].includes(await r.queue("a").getJobState(drainJobId(second.batchId))), "its drain job waits");
});

test("requests to a target stay within its concurrency, over all its batches", async (t) => {
  const target = await startFakeTarget();
  let open = 0;
  let most = 0;
  target.respond(() => {
    open++;
    most = Math.max(most, open);
    return undefined;
  });
  const r = await relay(t, [targetConfig("a", { url: target.url })], { concurrency: 3, fakes: [target], flush: { maxItems: 4, maxBytes: 1 << 20 } });
  target.hold();
  await Promise.all(Array.from({ length: 16 }, (_, i) => r.enqueuer.enqueue(gzippedPprof({ seed: i }), ingestData(), ["a"])));
  await target.waitForRequests(3);
  await sleep(200);
  assert.equal(target.requests.length, 3, "no fourth request while three are open");
  const release = setInterval(() => {
    open = 0;
    target.release();
    target.hold();
  }, 20);
  t.after(() => clearInterval(release));
  await target.waitForRequests(16, 10_000);
  assert.ok(most <= 3, `at most 3 open at once, saw ${most}`);
});

test("a target's requests fill its concurrency, beyond the batches delivered at once", async (t) => {
  const target = await startFakeTarget();
  const r = await relay(t, [targetConfig("a", { url: target.url })], { concurrency: 12, fakes: [target], flush: { maxItems: 2, maxBytes: 1 << 20 } });
  target.hold();
  await Promise.all(Array.from({ length: 20 }, (_, i) => r.enqueuer.enqueue(gzippedPprof({ seed: i }), ingestData(), ["a"])));
  await target.waitForRequests(12);
  await sleep(200);
  assert.equal(target.requests.length, 12, "twelve requests open, none more");
  target.release();
  await target.waitForRequests(20, 10_000);
});

test("a target's worker delivers four batches at once at most, however many requests may be in flight", async (t) => {
  const target = await startFakeTarget();
  let fixed = false;
  target.respond(() => (fixed ? undefined : { status: 400, body: '{"code":"invalid_argument","message":"malformed"}' }));
  const r = await relay(t, [targetConfig("a", { url: target.url })], { concurrency: 16, fakes: [target], flush: { maxItems: 1, maxBytes: 1 << 20 } });
  // A flush of one profile each: ten batches, each failing for good on its own.
  await Promise.all(Array.from({ length: 10 }, (_, i) => r.enqueuer.enqueue(gzippedPprof({ seed: i }), ingestData({ query: `name=p${i}` }), ["a"])));
  await eventually("ten failed batches", async () => (await summarizeFailed(r.admin, r.prefix, "a")).batches === 10);
  const before = target.requests.length;
  fixed = true;
  target.hold();
  assert.equal((await replayFailed({ connection: r.admin, prefix: r.prefix, target: "a", payloadTtlMs: 3_600_000 })).replayed, 10);
  await target.waitForRequests(before + 4);
  await sleep(300);
  assert.equal(target.requests.length - before, 4, "a request per batch being delivered: four batches at once");
  target.release();
  await target.waitForRequests(before + 10, 10_000);
  await eventually("no failed batch left", async () => (await summarizeFailed(r.admin, r.prefix, "a")).batches === 0);
});

/** Names of the connections to the spec file's redis-server, sorted. */
async function clientNames(admin: Redis): Promise<string[]> {
  const list = (await admin.client("LIST")) as string;
  return list
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => /\bname=(\S*)/.exec(line)?.[1] ?? "")
    .sort();
}

test("a reload's targets: a new one is served, a removed one's queue is left as it is, a changed one uses its new settings", async (t) => {
  const fakes = [await startFakeTarget(), await startFakeTarget(), await startFakeTarget()];
  const [a, b, moved] = fakes as [(typeof fakes)[0], (typeof fakes)[0], (typeof fakes)[0]];
  const targets = [targetConfig("a", { url: a.url }), targetConfig("b", { url: b.url })];
  const r = await relay(t, targets, { fakes });
  r.enqueuer.setTargets([...targets, targetConfig("c", { url: moved.url })]);
  await r.enqueuer.enqueue(gzippedPprof({ seed: 1 }), ingestData({ query: "name=before" }), ["a", "b", "c"]);
  await Promise.all([a.waitForRequests(1), b.waitForRequests(1)]);
  assert.equal(await r.queue("c").getJobCountByTypes("waiting", "delayed"), 1, "c is not served yet");

  // a removed, b moved to another URL, c added.
  r.writer!.setTargets([targetConfig("b", { url: moved.url }), targetConfig("c", { url: moved.url })]);
  assert.deepEqual(r.writer!.targets.sort(), ["b", "c"]);
  await r.enqueuer.enqueue(gzippedPprof({ seed: 2 }), ingestData({ query: "name=after" }), ["a", "b", "c"]);
  await moved.waitForRequests(3);
  const names = moved.requests.map((request) => new URLSearchParams(request.query).get("name")?.split("{")[0]).sort();
  assert.deepEqual(names, ["after", "after", "before"], "c's waiting batch and both new ones");
  assert.equal(b.requests.length, 1, "b's old URL gets nothing more");
  await sleep(200);
  assert.equal(a.requests.length, 1, "a is no longer served");
  assert.equal(await r.queue("a").getJobCountByTypes("waiting", "delayed"), 1, "a's queue keeps what waits for it");
});
