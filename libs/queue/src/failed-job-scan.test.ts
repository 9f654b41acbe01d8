import assert from "node:assert/strict";
import { after, test } from "node:test";
import { startRedisServer } from "@pyroscope-relay/testing";
import { scanFailedJobs, type FailedJob } from "./failed-job-scan.js";
import { httpFailure, queueHarness } from "./queue-harness.js";

const server = await startRedisServer();
after(() => server.stop());

async function collect(pages: AsyncGenerator<FailedJob[]>): Promise<FailedJob[][]> {
  const all: FailedJob[][] = [];
  for await (const page of pages) all.push(page);
  return all;
}

test("pages oldest first, each job once, even when many failed in the same millisecond", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const ids = await h.fail(
    "alpha",
    Array.from({ length: 10 }, (_, i) => httpFailure(400, String(i))),
  );
  const failedKey = h.queue("alpha").toKey("failed");
  // Seven jobs share one failure time, across page boundaries; the rest are later.
  for (const [i, id] of ids.entries()) await h.connection.zadd(failedKey, "XX", i < 7 ? 1_000 : 2_000 + i, id);

  const pages = await collect(scanFailedJobs(h.connection, h.queue("alpha"), { pageSize: 3 }));
  assert.deepEqual(
    pages.map((page) => page.length),
    [3, 3, 3, 1],
  );
  const seen = pages.flat();
  assert.deepEqual(seen.map(({ job }) => job.id).sort(), [...ids].sort());
  assert.deepEqual(
    seen.map(({ failedAt }) => failedAt),
    [1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 2_007, 2_008, 2_009],
  );
  assert.equal(seen[9]?.job.failedReason, "http 400: 9");
  assert.deepEqual(seen[9]?.failure, httpFailure(400, "9"), "the failure as the writer recorded it");
  assert.equal(seen[9]?.data?.profiles.length, 1);
});

test("keeps to the time range and copes with jobs leaving and joining during the scan", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const ids = await h.fail(
    "alpha",
    ["a", "b", "c", "d", "e", "f"].map((detail) => httpFailure(400, detail)),
  );
  const failedKey = h.queue("alpha").toKey("failed");
  for (const [i, id] of ids.entries()) await h.connection.zadd(failedKey, "XX", 1_000 + i, id);

  const seen: string[] = [];
  for await (const page of scanFailedJobs(h.connection, h.queue("alpha"), { from: 1_001, to: 1_004, pageSize: 2 })) {
    for (const { job } of page) seen.push(job.id!);
    if (seen.length === 2) {
      // While paging: the job just seen leaves (replayed), one ahead is removed, one joins at the end.
      await h.connection.zrem(failedKey, ids[2]!, ids[3]!);
      await h.connection.zadd(failedKey, 1_003, ids[5]!);
    }
  }
  assert.deepEqual(seen, [ids[1], ids[2], ids[5], ids[4]]);
});

test("leaves out a job whose hash is gone", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [gone, kept] = await h.fail("alpha", [httpFailure(400, "a"), httpFailure(400, "b")]);
  await h.connection.del(h.queue("alpha").toKey(gone!));
  const pages = await collect(scanFailedJobs(h.connection, h.queue("alpha")));
  assert.deepEqual(
    pages.flat().map(({ job }) => job.id),
    [kept],
  );

  await h.connection.del(h.queue("alpha").toKey(kept!));
  assert.deepEqual(await collect(scanFailedJobs(h.connection, h.queue("alpha"))), [], "no empty pages");
});

test("leaves out a drain job BullMQ failed: no failed batch, but the claim of many, for the writers to split off", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [batch] = await h.fail("alpha", [httpFailure(400, "a")]);
  const [drain] = await h.fail("alpha", [httpFailure(400, "b")]);
  // The second batch's failed job, made into a drain job that BullMQ failed with its claim.
  await (await h.queue("alpha").getJob(drain!))!.updateData({ drain: true } as never);
  const pages = await collect(scanFailedJobs(h.connection, h.queue("alpha")));
  assert.deepEqual(
    pages.flat().map(({ job }) => job.id),
    [batch],
  );
});

test("a job BullMQ failed by itself gets its reason from BullMQ's text; unreadable data is left undefined", async (t) => {
  const h = await queueHarness(t, server.url, ["alpha"]);
  const [id] = await h.fail("alpha", [httpFailure(400, "a")]);
  const job = (await h.queue("alpha").getJob(id!))!;
  await job.updateData({ kind: "from a future version" } as never);
  await h.connection.hset(h.queue("alpha").toKey(id!), "failedReason", "job stalled more than allowable limit");
  const [[failed]] = (await collect(scanFailedJobs(h.connection, h.queue("alpha")))) as [[FailedJob]];
  assert.equal(failed.data, undefined);
  assert.deepEqual(failed.failure, { reason: "stalled", detail: "job stalled more than allowable limit" });
});
