import assert from "node:assert/strict";
import { test } from "node:test";
import { startRedisServer } from "@pyroscope-relay/testing";
import { checkRedisDurability } from "./durability.js";
import { createRedisConnection, waitForRedis } from "./redis-connection.js";

async function connect(t: { after(fn: () => unknown): void }, url: string) {
  const redis = createRedisConnection(url, "admin");
  t.after(() => redis.disconnect());
  await waitForRedis(redis, 2_000);
  return redis;
}

test("warns about AOF off and about an eviction policy on a plain server", async (t) => {
  const server = await startRedisServer();
  t.after(() => server.stop());
  const redis = await connect(t, server.url);
  const warnings = await checkRedisDurability(redis);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? "", /appendonly is off/);

  await redis.config("SET", "maxmemory-policy", "allkeys-lru");
  const both = await checkRedisDurability(redis);
  assert.equal(both.length, 2);
  assert.match(both[0] ?? "", /maxmemory-policy is "allkeys-lru"/);
});

test("says nothing with AOF and noeviction", async (t) => {
  const server = await startRedisServer({ appendonly: true, maxmemory: "64mb" });
  t.after(() => server.stop());
  assert.deepEqual(await checkRedisDurability(await connect(t, server.url)), []);
});

test("tolerates CONFIG being forbidden, with a warning that it could not check", async (t) => {
  const server = await startRedisServer();
  t.after(() => server.stop());
  const admin = await connect(t, server.url);
  await admin.acl("SETUSER", "relay", "on", ">pw", "~*", "&*", "+@all", "-config");
  const restricted = await connect(t, server.url);
  await restricted.auth("relay", "pw");
  const warnings = await checkRedisDurability(restricted);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? "", /could not check Redis durability settings .*NOPERM/);
});

test("warns when a master has fewer replicas than --redis.min-replicas", async (t) => {
  const server = await startRedisServer({ appendonly: true, maxmemory: "64mb" });
  t.after(() => server.stop());
  const redis = await connect(t, server.url);
  const warnings = await checkRedisDurability(redis, { minReplicas: 1 });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? "", /0 connected replica\(s\) but --redis.min-replicas is 1/);
  assert.deepEqual(await checkRedisDurability(redis, { minReplicas: 0 }), []);
});
