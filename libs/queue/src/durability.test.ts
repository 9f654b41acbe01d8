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

test("warns when Redis rewrites its AOF more often than every GiB written, unless rewrites are off", async (t) => {
  const server = await startRedisServer({ appendonly: true, maxmemory: "64mb" });
  t.after(() => server.stop());
  const redis = await connect(t, server.url);
  assert.equal(await redis.config("GET", "auto-aof-rewrite-min-size").then((reply) => (reply as string[])[1]), String(1024 ** 3), "the launcher's setting");
  await redis.config("SET", "auto-aof-rewrite-min-size", "64mb");
  const warnings = await checkRedisDurability(redis);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? "", /auto-aof-rewrite-min-size is 64 MiB: .* set it to 1gb or more/);
  await redis.config("SET", "auto-aof-rewrite-percentage", "0");
  assert.deepEqual(await checkRedisDurability(redis), [], "automatic rewrites are off");
  await redis.config("SET", "auto-aof-rewrite-percentage", "100");
  await redis.config("SET", "appendonly", "no");
  assert.deepEqual(
    (await checkRedisDurability(redis)).map((warning) => warning.slice(0, 26)),
    ["Redis appendonly is off: a"],
    "without AOF only that",
  );
});
