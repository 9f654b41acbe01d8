import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { startRedisServer } from "@pyroscope-relay/testing";
import { ExporterLease } from "./exporter-lease.js";
import { exporterLeaseKey } from "./keys.js";
import { createRedisConnection, waitForRedis } from "./redis-connection.js";

const server = await startRedisServer();
const redis = createRedisConnection(server.url, "admin");
await waitForRedis(redis, 2_000);
after(async () => {
  redis.disconnect();
  await server.stop();
});

test("one holder at a time: it renews at its scrapes, the others wait until it lets go", async () => {
  const prefix = `t-${randomUUID()}`;
  const [a, b] = [new ExporterLease(redis, prefix, "a"), new ExporterLease(redis, prefix, "b")];
  assert.equal(await a.hold(), true);
  assert.equal(await b.hold(), false);
  assert.equal(await a.hold(), true, "renewed");
  assert.equal(await b.hold(), false);
  await b.release();
  assert.equal(await redis.get(exporterLeaseKey(prefix)), "a", "only the holder lets go");
  await a.release();
  assert.equal(await b.hold(), true);
  assert.equal(await a.hold(), false);
});

test("the TTL is three scrape intervals, within bounds; a lapsed lease goes to the next process scraped", async () => {
  const prefix = `t-${randomUUID()}`;
  const key = exporterLeaseKey(prefix);
  const a = new ExporterLease(redis, prefix, "a");
  await a.hold(0);
  assert.ok((await redis.pttl(key)) > 110_000, "two default scrape intervals before the first one is known");
  await a.hold(30_000);
  const ttl = await redis.pttl(key);
  assert.ok(ttl > 85_000 && ttl <= 90_000, `ttl ${ttl}`);
  await a.hold(3_631_000);
  assert.ok((await redis.pttl(key)) <= 600_000, "at most 10 min");
  await redis.pexpire(key, 1);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(await new ExporterLease(redis, prefix, "b").hold(), true);
  assert.equal(await a.hold(), false);
});

test("the TTL follows the longest interval of the last 10 minutes: a scrape soon after another does not shorten it", async () => {
  const prefix = `t-${randomUUID()}`;
  const key = exporterLeaseKey(prefix);
  const a = new ExporterLease(redis, prefix, "a");
  // Scraped every 60 s, and by a second Prometheus (or a curl) 3 s after each.
  for (const at of [0, 60_000, 63_000, 120_000, 123_000]) await a.hold(at);
  const ttl = await redis.pttl(key);
  assert.ok(ttl > 179_000 && ttl <= 180_000, `three times the 60 s scrape interval: ${ttl}`);
  // Once the long intervals are more than 10 minutes old, the short ones set it, at least 15 s.
  for (let at = 124_000; at <= 800_000; at += 1_000) await a.hold(at);
  const short = await redis.pttl(key);
  assert.ok(short > 14_000 && short <= 15_000, `at least 15 s: ${short}`);
});
