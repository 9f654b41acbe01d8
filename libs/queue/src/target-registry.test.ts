import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { startRedisServer } from "@pyroscope-relay/testing";
import { createRedisConnection, waitForRedis } from "./redis-connection.js";
import { recordedTargets, recordTargets } from "./target-registry.js";

const server = await startRedisServer();
const connection = createRedisConnection(server.url, "admin");
after(async () => {
  connection.disconnect();
  await server.stop();
});

test("targets recorded by any process stay recorded, once each, per prefix", async () => {
  await waitForRedis(connection, 2_000);
  const prefix = `t-${randomUUID()}`;
  assert.deepEqual(await recordedTargets(connection, prefix), []);
  await recordTargets(connection, prefix, ["beta", "alpha"]);
  await recordTargets(connection, prefix, ["alpha", "multi/0"]);
  await recordTargets(connection, prefix, []);
  assert.deepEqual(await recordedTargets(connection, prefix), ["alpha", "beta", "multi/0"]);
  assert.deepEqual(await recordedTargets(connection, `${prefix}-other`), []);
});
