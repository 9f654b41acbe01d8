import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { pollUntil, startRedisServer } from "@pyroscope-relay/testing";
import { Queue } from "bullmq";
import type { ProfileRef } from "./batch-data.js";
import type { BatchJob } from "./batch-job.js";
import { BatchProgress } from "./batch-progress.js";
import { ProgressRecorder } from "./progress-recorder.js";
import { createRedisConnection } from "./redis-connection.js";

const server = await startRedisServer();
after(() => server.stop());

const refs: ProfileRef[] = [0, 1, 2].map((index) => ({
  kind: "ingest",
  index,
  offset: index * 10,
  size: 10,
  receivedAt: 1,
  query: `n=${index}`,
  contentTypes: [],
}));

test("saves what was delivered, a save at most per interval; a failed save is reported, and the next change saves again", async (t) => {
  const connection = createRedisConnection(server.url, "admin");
  const queue = new Queue(`progress-${randomUUID()}`, { connection });
  t.after(async () => {
    await queue.close();
    connection.disconnect();
  });
  const job = (await queue.add("batch", { n: 1 }, { jobId: "j-1" })) as unknown as BatchJob;
  const progress = BatchProgress.restore(refs, undefined);
  const errors: unknown[] = [];
  const recorder = new ProgressRecorder(job, progress, 50, (error) => errors.push(error));
  t.after(() => recorder.stop());
  const saved = async () => (await queue.getJob("j-1"))?.progress;

  progress.delivered(0, [0]);
  recorder.changed();
  progress.delivered(1, [0]);
  recorder.changed();
  await pollUntil("the save", async () => JSON.stringify(await saved()) === JSON.stringify(progress.toJSON()));
  assert.deepEqual(BatchProgress.restore(refs, await saved()).pending(), [refs[2]], "a restore sends only what is left");

  // The job's key is gone (a purge, say): the save fails and says so; the recorder goes on.
  await (await queue.getJob("j-1"))!.remove();
  progress.delivered(2, [0]);
  recorder.changed();
  await pollUntil("the failure to be reported", () => errors.length === 1);
  assert.match(String(errors[0]), /j-1/);

  await queue.add("batch", { n: 1 }, { jobId: "j-1" });
  progress.delivered(2, [0]);
  recorder.changed();
  await pollUntil("a save once the job is back", async () => JSON.stringify(await saved()) === JSON.stringify(progress.toJSON()));
  assert.deepEqual(BatchProgress.restore(refs, await saved()).pending(), []);
  assert.equal(errors.length, 1);
});

test("once stopped, a change saves nothing: what comes after the attempt's end is not its progress", async (t) => {
  const connection = createRedisConnection(server.url, "admin");
  const queue = new Queue(`progress-${randomUUID()}`, { connection });
  t.after(async () => {
    await queue.close();
    connection.disconnect();
  });
  const job = (await queue.add("batch", { n: 1 }, { jobId: "j-2" })) as unknown as BatchJob;
  const progress = BatchProgress.restore(refs, undefined);
  const recorder = new ProgressRecorder(job, progress, 10, (error) => assert.fail(String(error)));
  await recorder.stop();
  progress.delivered(0, [0]);
  recorder.changed();
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal((await queue.getJob("j-2"))?.progress, 0, "BullMQ's initial progress, untouched");
});
