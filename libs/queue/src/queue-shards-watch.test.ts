import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pollUntil, startRedisServer } from "@pyroscope-relay/testing";
import type { QueueShardsMismatchError } from "./errors.js";
import { queueShardsKey } from "./keys.js";
import { recordQueueShards } from "./queue-shards-record.js";
import { QueueShardsWatch } from "./queue-shards-watch.js";
import { createRedisConnection, waitForRedis } from "./redis-connection.js";

const server = await startRedisServer();
const connection = createRedisConnection(server.url, "admin");
await waitForRedis(connection, 5_000);
after(async () => {
  connection.disconnect();
  await server.stop();
});

test("a running process' watch says when the record is raised above its count, once per change, and when it is within again", async (t) => {
  const prefix = `watch-${randomUUID()}`;
  await recordQueueShards(connection, prefix, 1, { raise: true });
  const events: (number | string | undefined)[] = [];
  const watch = new QueueShardsWatch({
    connection,
    prefix,
    shards: 1,
    intervalMs: 10,
    onMismatch: (mismatch) => events.push(mismatch.recorded),
    onResolved: (recorded) => events.push(`within: ${recorded}`),
    onError: (error) => assert.fail(String(error)),
  });
  t.after(() => watch.stop());
  watch.start();
  await sleep(50);
  assert.equal(watch.mismatch, undefined);
  assert.deepEqual(events, []);

  await recordQueueShards(connection, prefix, 4, { raise: true });
  const raised = await pollUntil("the raise to be seen", () => watch.mismatch);
  assert.equal(raised.recorded, 4);
  assert.equal(raised.shards, 1);
  assert.match(raised.message, /--target\.queue-shards \(or RELAY_TARGET_QUEUE_SHARDS\): 1, but .* have 4 shards per target/);
  await sleep(100);
  assert.deepEqual(events, [4], "told once, not at every reading");

  await recordQueueShards(connection, prefix, 8, { raise: true });
  await pollUntil("the second raise to be seen", () => watch.mismatch?.recorded === 8);
  await sleep(50);
  assert.deepEqual(events, [4, 8]);

  // Set lower, as the README's lowering of the count does: within this process' count again.
  await connection.set(queueShardsKey(prefix), "1");
  await pollUntil("the lower record to be seen", () => watch.mismatch === undefined);
  assert.deepEqual(events, [4, 8, "within: 1"]);
  // Gone (a Redis that lost its data): recorded again with this process' count, not left for a smaller one.
  await connection.set(queueShardsKey(prefix), "8");
  await pollUntil("the raise to be seen again", () => watch.mismatch?.recorded === 8);
  await connection.del(queueShardsKey(prefix));
  await pollUntil("the record restored", async () => (await connection.get(queueShardsKey(prefix))) === "1");
  await pollUntil("the mismatch gone", () => watch.mismatch === undefined);
  await sleep(50);
  assert.equal(await connection.get(queueShardsKey(prefix)), "1", "restored once, never raised");
  assert.deepEqual(events, [4, 8, "within: 1", 8, "within: undefined"]);
});

test("a mismatch that lasts is told again every remindMs; a record at or below the count is none", async () => {
  const prefix = `watch-${randomUUID()}`;
  const told: QueueShardsMismatchError[] = [];
  const watch = new QueueShardsWatch({ connection, prefix, shards: 2, remindMs: 60_000, onMismatch: (mismatch) => told.push(mismatch) });
  assert.equal(await watch.poll(0), undefined, "nothing recorded");
  await recordQueueShards(connection, prefix, 2, { raise: true });
  assert.equal(await watch.poll(0), undefined, "the same count");
  await connection.set(queueShardsKey(prefix), "3");
  const first = await watch.poll(1_000);
  assert.equal(first?.recorded, 3);
  assert.equal(await watch.poll(30_000), first);
  assert.equal(await watch.poll(60_999), first);
  assert.equal(told.length, 1);
  assert.equal(await watch.poll(61_000), first);
  assert.equal(told.length, 2, "reminded once the interval passed");
  await connection.set(queueShardsKey(prefix), "1");
  assert.equal(await watch.poll(62_000), undefined, "a smaller record is no mismatch");
});

test("a reading that fails keeps the last state and is told once per outage", async (t) => {
  const prefix = `watch-${randomUUID()}`;
  await connection.set(queueShardsKey(prefix), "4");
  const errors: unknown[] = [];
  const watch = new QueueShardsWatch({ connection, prefix, shards: 1, intervalMs: 10, onError: (error) => errors.push(error) });
  t.after(() => watch.stop());
  await watch.poll();
  watch.start();
  watch.start();
  await connection.set(queueShardsKey(prefix), "garbage");
  await pollUntil("the failed reading", () => errors.length > 0);
  await sleep(100);
  assert.equal(errors.length, 1);
  assert.equal(watch.mismatch?.recorded, 4, "the last state stands");
  await connection.set(queueShardsKey(prefix), "4");
  await sleep(50);
  await connection.set(queueShardsKey(prefix), "garbage");
  await pollUntil("a second outage", () => errors.length === 2);
});
