import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { payloadKey } from "@pyroscope-relay/queue";
import type { Redis } from "ioredis";
import { gzippedPprof, startFakeTarget } from "@pyroscope-relay/testing";
import { counter, eventually, failedJob, ingestData, redisForFile, targetConfig } from "./writer-harness.js";

const { relay } = await redisForFile();

test("stores a profile once for 3 targets and deletes it only after the last delivery", async (t) => {
  const fakes = [await startFakeTarget(), await startFakeTarget(), await startFakeTarget()];
  const [a, b, c] = fakes as [typeof fakes[0], typeof fakes[0], typeof fakes[0]];
  const targets = [targetConfig("a", a.url), targetConfig("b", b.url), targetConfig("c", c.url)];
  const r = await relay(t, targets, { fakes });
  b.hold();
  const profile = gzippedPprof({ seed: 7 });
  const { payloadId } = await r.enqueuer.enqueue(profile, ingestData(), ["a", "b", "c"]);

  const [[toA], [toB], [toC]] = await Promise.all([a.waitForRequests(1), b.waitForRequests(1), c.waitForRequests(1)]);
  for (const request of [toA!, toB!, toC!]) assert.deepEqual(request.body, profile);
  // a and c have released their claims; b's answer is held, so b still owes its delivery.
  await eventually("a and c to release", async () => (await r.pending(payloadId)).join() === "b");
  assert.equal(await r.payloadExists(payloadId), true, "payload deleted while b still owes it");
  assert.deepEqual(await r.admin.getBuffer(payloadKey(r.prefix, payloadId)), profile);
  // One copy of the bytes, whatever the number of targets: the payload key and its pending set.
  assert.deepEqual((await r.admin.keys(`${r.prefix}:payload:*`)).sort(), [
    payloadKey(r.prefix, payloadId),
    `${payloadKey(r.prefix, payloadId)}:pending`,
  ]);

  b.release();
  await eventually("the payload to be deleted", async () => !(await r.payloadExists(payloadId)));
  assert.equal(await r.pendingExists(payloadId), false);
  for (const name of ["a", "b", "c"]) {
    const queue = r.queue(name);
    assert.equal(await queue.getJob(payloadId), undefined, `${name}: completed job kept`);
    assert.deepEqual(await queue.getJobCounts("completed", "failed", "waiting", "delayed", "active"), {
      completed: 0, failed: 0, waiting: 0, delayed: 0, active: 0,
    });
    assert.equal(await counter(r.metrics.writeSentProfiles, name), 1);
    assert.equal(await counter(r.metrics.writeSentBytes, name), profile.length);
  }
  for (const fake of fakes) assert.equal(fake.requests.length, 1);
});

test("a job whose payload is gone fails at once, naming the expired payload", async (t) => {
  const target = await startFakeTarget();
  const r = await relay(t, [targetConfig("a", target.url)], { start: false, fakes: [target] });
  const { payloadId } = await r.enqueuer.enqueue(gzippedPprof(), ingestData(), ["a"]);
  await r.admin.del(payloadKey(r.prefix, payloadId));
  r.start();

  const job = await failedJob(r.queue("a"), payloadId);
  assert.match(job.failedReason, /payload expired/);
  assert.equal(job.attemptsMade, 1);
  assert.equal(target.requests.length, 0);
  assert.equal(await counter(r.metrics.writeDroppedProfiles, "a"), 1);
});

test("a target that is down does not delay another", async (t) => {
  const down = await startFakeTarget();
  const healthy = await startFakeTarget();
  down.respond(() => ({ status: 503, body: "down for maintenance" }));
  const r = await relay(
    t,
    [
      targetConfig("down", down.url, { maxBackoffRetries: 0 }),
      targetConfig("healthy", healthy.url),
    ],
    { concurrency: 1, fakes: [down, healthy] },
  );
  const count = 20;
  const started = Date.now();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push((await r.enqueuer.enqueue(gzippedPprof({ seed: i, samples: 3 }), ingestData(), ["down", "healthy"])).payloadId);
  }
  const received = await healthy.waitForRequests(count, 5_000);
  const elapsed = received[count - 1]!.at - started;
  t.diagnostic(`healthy target got ${count} profiles in ${elapsed} ms; the down one had ${down.requests.length} attempts`);
  assert.ok(elapsed < 3_000, `healthy target took ${elapsed} ms`);
  assert.ok(down.requests.length >= 1, "the down target was tried too");
  // The payloads stay for the target that still owes them.
  await eventually("healthy releases", async () => (await r.pending(ids[count - 1]!)).join() === "down");
});

test("writer.close() waits for active deliveries, then stops fetching", async (t) => {
  const target = await startFakeTarget();
  const r = await relay(t, [targetConfig("a", target.url)], { fakes: [target] });
  target.hold();
  const { payloadId } = await r.enqueuer.enqueue(gzippedPprof(), ingestData(), ["a"]);
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
  assert.equal(await r.payloadExists(payloadId), false);
  assert.equal(await r.queue("a").getJob(payloadId), undefined);
  // BullMQ's blocking connections are gone.
  await eventually("only our connections to remain", async () => (await clientNames(r.admin)).join() === ours.join(), 2_000);

  // Nothing is fetched any more.
  const second = await r.enqueuer.enqueue(gzippedPprof(), ingestData(), ["a"]);
  await sleep(200);
  assert.equal(target.requests.length, 1);
  assert.equal(await r.queue("a").getJobState(second.payloadId), "waiting");
});

/** Names of the connections to the spec file's redis-server, sorted. */
async function clientNames(admin: Redis): Promise<string[]> {
  const list = (await admin.client("LIST")) as string;
  return list.split("\n").filter((line) => line.trim() !== "").map((line) => /\bname=(\S*)/.exec(line)?.[1] ?? "").sort();
}
