import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { toBinary, create } from "@bufbuild/protobuf";
import { PushRequestSchema } from "@pyroscope-relay/proto";
import { SILENCE_LIMIT_MS } from "@pyroscope-relay/queue";
import { gzippedPprof, startNetworkFaultProxy, startRedisServer } from "@pyroscope-relay/testing";
import { adminConnection, send, startTestReceiver } from "./test-harness.js";
import type { RawResponse, TestReceiver } from "./test-harness.js";

// Its own redis-server: these tests kill and freeze it.
const redis = await startRedisServer();
const admin = await adminConnection(redis);
after(async () => {
  admin.disconnect();
  await redis.stop();
});

const pushPath = "/push.v1.PusherService/Push";

function ingest(r: TestReceiver): Promise<RawResponse> {
  return send(r.url, "POST", "/ingest?name=checkout%7B%7D&format=pprof", { "content-type": "application/octet-stream" }, gzippedPprof());
}

function push(r: TestReceiver): Promise<RawResponse> {
  const request = create(PushRequestSchema, {
    series: [
      {
        labels: [
          { name: "__name__", value: "cpu" },
          { name: "service_name", value: "checkout" },
        ],
        samples: [{ rawProfile: gzippedPprof() }],
      },
    ],
  });
  return send(r.url, "POST", pushPath, { "content-type": "application/proto" }, toBinary(PushRequestSchema, request));
}

async function timed(request: Promise<RawResponse>): Promise<RawResponse & { ms: number }> {
  const started = Date.now();
  const res = await request;
  return { ...res, ms: Date.now() - started };
}

/** 503 + Retry-After for /ingest, `unavailable` for Push, both within 2 s. */
async function assertUnavailable(r: TestReceiver): Promise<void> {
  const [ingested, pushed] = await Promise.all([timed(ingest(r)), timed(push(r))]);
  assert.equal(ingested.status, 503, ingested.body.toString());
  assert.match(String(ingested.headers["retry-after"]), /^\d+$/);
  assert.equal((ingested.json as { code: string }).code, "unavailable");
  assert.ok(ingested.ms < 2_000, `/ingest answered after ${ingested.ms} ms`);
  assert.equal(pushed.status, 503, pushed.body.toString());
  assert.equal((pushed.json as { code: string }).code, "unavailable");
  assert.ok(pushed.ms < 2_000, `Push answered after ${pushed.ms} ms`);
}

/** Polls until both APIs answer 200 again; no request may get 200 before Redis is back. */
async function assertRecovers(r: TestReceiver, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const res = await ingest(r);
    if (res.status === 200) break;
    assert.equal(res.status, 503);
    assert.ok(Date.now() - started < timeoutMs, "/ingest still 503 after Redis came back");
    await sleep(100);
  }
  assert.equal((await push(r)).status, 200);
  return Date.now() - started;
}

test("Redis killed: 503 with Retry-After and Push unavailable, 200 again after restart", async (t) => {
  const r = await startTestReceiver(t, redis, admin);
  assert.equal((await ingest(r)).status, 200);
  await redis.kill();
  await assertUnavailable(r);
  await assertUnavailable(r);
  await redis.restart();
  const ms = await assertRecovers(r, 5_000);
  t.diagnostic(`serving again ${ms} ms after restart`);
  // The killed server had no AOF: what is there now came after the restart, one payload per 200.
  assert.equal((await r.payloads()).length, 2);
});

test("Redis frozen (SIGSTOP): answers within 2 s anyway, 200 again after SIGCONT", async (t) => {
  const r = await startTestReceiver(t, redis, admin);
  assert.equal((await ingest(r)).status, 200);
  const info = await admin.info("server");
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  assert.ok(pid > 0);
  process.kill(pid, "SIGSTOP");
  let frozen = true;
  t.after(() => {
    if (frozen) process.kill(pid, "SIGCONT");
  });
  await assertUnavailable(r);
  process.kill(pid, "SIGCONT");
  frozen = false;
  await assertRecovers(r, 5_000);
});

test("the network black-holes the Redis connection: 503 within 2 s, then 200 on a new connection within its silence limit", async (t) => {
  const proxy = await startNetworkFaultProxy({ path: redis.socketPath }, { path: join(redis.dir, "producer-proxy.sock") });
  t.after(() => proxy.close());
  const r = await startTestReceiver(t, redis, admin, { producerUrl: `unix://${proxy.address.path}` });
  assert.equal((await ingest(r)).status, 200);
  proxy.blackHoleOpenConnections();
  const started = Date.now();
  await assertUnavailable(r);
  await assertRecovers(r, SILENCE_LIMIT_MS.producer + 5_000);
  t.diagnostic(`serving again ${Date.now() - started} ms after the black hole`);
  assert.equal(proxy.passing, 1, "on a new connection");
});
