import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { startRedisServer } from "@pyroscope-relay/testing";
import { QueueShardsMismatchError } from "./errors.js";
import { queueShardsKey } from "./keys.js";
import { readQueueShards, recordQueueShards } from "./queue-shards-record.js";
import { QueueShardsWatch } from "./queue-shards-watch.js";
import { createRedisConnection, waitForRedis, type RedisConnection } from "./redis-connection.js";

const server = await startRedisServer();
const connection = createRedisConnection(server.url, "admin");
await waitForRedis(connection, 5_000);
after(async () => {
  connection.disconnect();
  await server.stop();
});

const newPrefix = () => `shards-${randomUUID()}`;

function refusal(prefix: string, recorded: number, shards: number) {
  return (error: unknown) => {
    assert.ok(error instanceof QueueShardsMismatchError, String(error));
    assert.equal(error.recorded, recorded);
    assert.equal(error.shards, shards);
    assert.equal(error.prefix, prefix);
    assert.equal(error.setting, "--target.queue-shards (or RELAY_TARGET_QUEUE_SHARDS)");
    return true;
  };
}

test("the first process records its count under the prefix", async () => {
  const prefix = newPrefix();
  assert.equal(await readQueueShards(connection, prefix), undefined);
  assert.deepEqual(await recordQueueShards(connection, prefix, 4, { raise: true }), { before: undefined, recorded: 4 });
  assert.equal(await connection.get(`${prefix}:queue-shards`), "4");
  assert.equal(await readQueueShards(connection, prefix), 4);
  // The same count again changes nothing.
  assert.deepEqual(await recordQueueShards(connection, prefix, 4, { raise: true }), { before: 4, recorded: 4 });
  // An operator command only checks: it records nothing where none is.
  const other = newPrefix();
  assert.deepEqual(await recordQueueShards(connection, other, 2, { raise: false }), { before: undefined, recorded: undefined });
  assert.equal(await readQueueShards(connection, other), undefined);
});

test("a smaller count is refused, naming the flag, both counts, the prefix and the fix; the record stays", async () => {
  const prefix = newPrefix();
  await recordQueueShards(connection, prefix, 4, { raise: true });
  for (const raise of [true, false]) await assert.rejects(recordQueueShards(connection, prefix, 1, { raise }), refusal(prefix, 4, 1));
  const error = (await recordQueueShards(connection, prefix, 1, { raise: true }).catch((e: unknown) => e)) as Error;
  assert.equal(
    error.message,
    `--target.queue-shards (or RELAY_TARGET_QUEUE_SHARDS): 1, but the relay's queues under prefix "${prefix}" have 4 shards per target ` +
      `(recorded in Redis key ${prefix}:queue-shards): this process misses the batches of shards 1 to 3; give every process --target.queue-shards 4 ` +
      "(to lower the count instead, see the README's Redis Cluster section)",
  );
  await assert.rejects(recordQueueShards(connection, prefix, 3, { raise: true }), /misses the batches of shard 3; give every process --target\.queue-shards 4/);
  assert.equal(await readQueueShards(connection, prefix), 4);
});

test("a larger count raises the record (run, ingest, writer); an operator command's leaves it", async () => {
  const prefix = newPrefix();
  await recordQueueShards(connection, prefix, 2, { raise: true });
  assert.deepEqual(await recordQueueShards(connection, prefix, 8, { raise: false }), { before: 2, recorded: 2 });
  assert.equal(await readQueueShards(connection, prefix), 2);
  assert.deepEqual(await recordQueueShards(connection, prefix, 4, { raise: true }), { before: 2, recorded: 4 });
  assert.equal(await readQueueShards(connection, prefix), 4);
  // Never lowered: the smaller count that started before is now refused.
  await assert.rejects(recordQueueShards(connection, prefix, 2, { raise: true }), refusal(prefix, 4, 2));
});

test("processes starting together end with the largest count; a smaller one is refused, or flagged by its watch if it came first", async (t) => {
  const counts = [1, 2, 3, 4, 5, 6, 7, 8];
  const connections: RedisConnection[] = [];
  t.after(() => {
    for (const c of connections) c.disconnect();
  });
  for (const _ of counts) {
    const c = createRedisConnection(server.url, "admin");
    connections.push(c);
    await waitForRedis(c, 5_000);
  }
  for (let round = 0; round < 20; round++) {
    const prefix = newPrefix();
    const order = [...counts].sort(() => Math.random() - 0.5);
    const outcomes = await Promise.allSettled(order.map((shards, i) => recordQueueShards(connections[i]!, prefix, shards, { raise: true })));
    assert.equal(await readQueueShards(connection, prefix), 8, "the largest count is recorded");
    for (const [i, outcome] of outcomes.entries()) {
      const shards = order[i]!;
      if (outcome.status === "rejected") {
        assert.ok(outcome.reason instanceof QueueShardsMismatchError, String(outcome.reason));
        assert.ok(outcome.reason.recorded > shards, "refused only for a larger record");
        continue;
      }
      assert.ok((outcome.value.before ?? 0) <= shards, "started only where the record was not larger");
      // Started before a larger count raised the record: its watch finds it at its next reading.
      const mismatch = await new QueueShardsWatch({ connection, prefix, shards }).poll();
      assert.equal(mismatch?.recorded, shards === 8 ? undefined : 8);
    }
    assert.ok(
      outcomes.some((outcome, i) => outcome.status === "fulfilled" && order[i] === 8),
      "the largest always starts",
    );
  }
});

test("a record that is not a count is an error, and left as it is", async () => {
  const prefix = newPrefix();
  await connection.set(queueShardsKey(prefix), "four");
  await assert.rejects(recordQueueShards(connection, prefix, 4, { raise: true }), /queue-shards holds "four", not a queue shard count/);
  await assert.rejects(readQueueShards(connection, prefix), /queue-shards holds "four", not a queue shard count/);
  assert.equal(await connection.get(queueShardsKey(prefix)), "four");
});
