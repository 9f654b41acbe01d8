import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, test } from "node:test";
import { createLogger } from "@pyroscope-relay/ops";
import { createRedisConnection, waitForRedis } from "@pyroscope-relay/queue";
import { startRedisServer } from "@pyroscope-relay/testing";
import { QUIT_MS, track, type ShutdownStack } from "./shutdown-stack.js";

const server = await startRedisServer();
after(() => server.stop());

test("a connection closes at shutdown even when Redis is out of reach and commands wait in its queue", async () => {
  const stack: ShutdownStack = [];
  // A worker's connection: it retries its commands for ever (BullMQ's requirement).
  const connection = track(createRedisConnection(server.url, "worker"), stack, createLogger({ level: "silent" }));
  await waitForRedis(connection, 2_000);
  await server.kill();
  void connection.get("waiting-for-redis").catch(() => undefined);
  const started = Date.now();
  for (const stop of stack.reverse()) await stop();
  assert.ok(Date.now() - started < QUIT_MS + 1_000, `closed after ${Date.now() - started} ms`);
  await server.restart();
  await sleep(1_000);
  assert.notEqual(connection.status, "ready", "closed for good: it does not come back with Redis");
});
