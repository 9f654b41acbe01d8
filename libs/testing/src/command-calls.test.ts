import assert from "node:assert/strict";
import { after, test } from "node:test";
import { redisCommand } from "@pyroscope-relay/redis-server";
import { commandCalls } from "./command-calls.js";
import { startRedisServer } from "./redis-server.js";

test("counts the calls of one command, 0 for one never called", async () => {
  const server = await startRedisServer();
  after(() => server.stop());
  const send = (...args: string[]) => redisCommand({ path: server.socketPath }, args);
  const redis = { info: async (section: string) => (await send("INFO", section)) ?? "" };
  assert.equal(await commandCalls(redis, "get"), 0);
  await send("SET", "a", "1");
  await send("GET", "a");
  await send("GET", "b");
  assert.equal(await commandCalls(redis, "get"), 2);
  assert.equal(await commandCalls(redis, "set"), 1);
});
