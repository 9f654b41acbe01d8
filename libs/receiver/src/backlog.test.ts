import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { PushRequestSchema } from "@pyroscope-relay/proto";
import { Enqueuer, RedisGuard, type BacklogBounds } from "@pyroscope-relay/queue";
import { gzippedPprof, startRedisServer, targetConfig } from "@pyroscope-relay/testing";
import { adminConnection, send, startTestReceiver } from "./test-harness.js";
import type { RawResponse, TestReceiver } from "./test-harness.js";

const redis = await startRedisServer();
const admin = await adminConnection(redis);
after(async () => {
  admin.disconnect();
  await redis.stop();
});

const profile = gzippedPprof({ seed: 3 });

function ingest(r: TestReceiver): Promise<RawResponse> {
  return send(r.url, "POST", "/ingest?name=checkout%7B%7D&format=pprof", { "content-type": "application/octet-stream" }, profile);
}

function push(r: TestReceiver): Promise<RawResponse> {
  const request = create(PushRequestSchema, {
    series: [
      {
        labels: [
          { name: "__name__", value: "cpu" },
          { name: "service_name", value: "checkout" },
        ],
        samples: [{ rawProfile: profile }],
      },
    ],
  });
  return send(r.url, "POST", "/push.v1.PusherService/Push", { "content-type": "application/proto" }, toBinary(PushRequestSchema, request));
}

/** Two targets; alpha's backlog holds `profiles` profiles already (no writer runs, so they stay). */
async function receiverWithFullAlpha(t: Parameters<typeof startTestReceiver>[0], backlog: BacklogBounds, profiles = backlog.maxProfiles) {
  const prefix = `rt-${randomUUID()}`;
  const filler = new Enqueuer({ connection: admin, prefix, payloadTtlMs: 60_000, targets: [targetConfig("alpha")] });
  for (let i = 0; i < profiles; i++) await filler.enqueue(Buffer.from("o"), { kind: "ingest", receivedAt: 0, query: "", contentTypes: [] }, ["alpha"]);
  await filler.close();
  return startTestReceiver(t, redis, admin, { targets: ["alpha", "beta"], backlog, prefix });
}

async function sample(
  r: TestReceiver,
  metric: "backlogFull" | "backlogDroppedProfiles" | "backlogDroppedBytes" | "rejectedRequests" | "writeDroppedProfiles" | "writeDroppedBytes",
  labels: Record<string, string>,
): Promise<number> {
  const { values } = await r.metrics[metric].get();
  const match = values.find((v) => Object.entries(labels).every(([k, value]) => (v.labels as Record<string, unknown>)[k] === value));
  return match?.value ?? 0;
}

test("drop: 200, the full target gets no segment, the other target its own; counted per target", async (t) => {
  const r = await receiverWithFullAlpha(t, { maxProfiles: 2, maxBytes: 0, policy: "drop" });
  assert.equal((await ingest(r)).status, 200);
  assert.equal((await push(r)).status, 200);

  assert.equal((await r.segments("alpha")).length, 2, "alpha keeps only the segments it had");
  assert.equal((await r.segments("beta")).length, 2);
  const payloads = (await r.payloads()).filter((payload) => payload.bytes.toString() !== "o");
  assert.equal(payloads.length, 2);
  for (const payload of payloads) assert.deepEqual(payload.targets, ["beta"]);
  assert.equal(await sample(r, "backlogFull", { target: "alpha", policy: "drop" }), 2);
  assert.equal(await sample(r, "backlogDroppedProfiles", { target: "alpha" }), 2);
  assert.ok((await sample(r, "backlogDroppedBytes", { target: "alpha" })) >= profile.length * 2);
  assert.equal(await sample(r, "backlogFull", { target: "beta", policy: "drop" }), 0);
});

test("drop: Alloy's pyroscope_write_dropped_* count a Push's samples and their raw bytes, an /ingest one profile of its body; the relay's own, what would be stored", async (t) => {
  const r = await receiverWithFullAlpha(t, { maxProfiles: 2, maxBytes: 0, policy: "drop" });
  const raw = [gzippedPprof({ seed: 4 }), gzippedPprof({ seed: 5 }), gzippedPprof({ seed: 6 })];
  const labels = [{ name: "__name__", value: "cpu" }];
  const request = toBinary(
    PushRequestSchema,
    create(PushRequestSchema, {
      series: [
        { labels: [...labels, { name: "service_name", value: "a" }], samples: [{ rawProfile: raw[0]! }, { rawProfile: raw[1]! }] },
        { labels: [...labels, { name: "service_name", value: "b" }], samples: [{ rawProfile: raw[2]! }] },
      ],
    }),
  );
  assert.equal((await send(r.url, "POST", "/push.v1.PusherService/Push", { "content-type": "application/proto" }, request)).status, 200);

  const dropped = { target: "alpha", endpoint: "http://127.0.0.1:1", reason: "backlog_full" };
  const rawBytes = raw.reduce((sum, bytes) => sum + bytes.length, 0);
  assert.equal(await sample(r, "writeDroppedProfiles", dropped), 3);
  assert.equal(await sample(r, "writeDroppedBytes", dropped), rawBytes);
  assert.equal(await sample(r, "backlogDroppedProfiles", { target: "alpha" }), 1);
  assert.equal(await sample(r, "backlogDroppedBytes", { target: "alpha" }), request.length, "the request as stored");

  assert.equal((await ingest(r)).status, 200);
  assert.equal(await sample(r, "writeDroppedProfiles", dropped), 3 + 1);
  assert.equal(await sample(r, "writeDroppedBytes", dropped), rawBytes + profile.length);
  assert.equal(await sample(r, "writeDroppedProfiles", { target: "beta" }), 0, "beta got both");
});

test("drop, every target full: 200 and nothing stored", async (t) => {
  const r = await startTestReceiver(t, redis, admin, { targets: ["alpha"], backlog: { maxProfiles: 0, maxBytes: 1, policy: "drop" } });
  assert.equal((await ingest(r)).status, 200);
  assert.equal((await ingest(r)).status, 200);
  assert.equal((await r.payloads()).length, 1, "the first fit, the second was dropped");
  assert.equal(await sample(r, "backlogDroppedProfiles", { target: "alpha" }), 1);
});

test("reject: 429 with Retry-After naming the full target, Push resource_exhausted, nothing stored", async (t) => {
  const r = await receiverWithFullAlpha(t, { maxProfiles: 2, maxBytes: 0, policy: "reject" });
  const refused = await ingest(r);
  assert.equal(refused.status, 429, refused.body.toString());
  assert.equal(refused.headers["retry-after"], "10");
  const body = refused.json as { code: string; message: string };
  assert.equal(body.code, "resource_exhausted");
  assert.match(body.message, /backlog full for target alpha \(2 of 2 profiles\)/);

  const pushed = await push(r);
  assert.equal(pushed.status, 429, pushed.body.toString());
  assert.equal(pushed.headers["retry-after"], "10");
  assert.equal((pushed.json as { code: string }).code, "resource_exhausted");

  assert.deepEqual(
    (await r.payloads()).filter((payload) => payload.bytes.toString() !== "o"),
    [],
  );
  assert.equal((await r.segments("beta")).length, 0, "beta gets nothing either");
  assert.equal(await sample(r, "backlogFull", { target: "alpha", policy: "reject" }), 2);
  assert.equal(await sample(r, "rejectedRequests", { api: "ingest", reason: "resource_exhausted" }), 1);
});

test("Redis near maxmemory: 503 with Retry-After and Push unavailable, 200 again once memory frees", async (t) => {
  const small = await startRedisServer({ maxmemory: "8mb" });
  const smallAdmin = await adminConnection(small);
  t.after(async () => {
    smallAdmin.disconnect();
    await small.stop();
  });
  let guard: RedisGuard | undefined;
  const r = await startTestReceiver(t, small, smallAdmin, {
    guard: (connection) => (guard = new RedisGuard({ connection, intervalMs: 20 })),
  });
  assert.equal((await ingest(r)).status, 200);

  // Filled in small writes: one large write's query buffer would push Redis over on its own.
  for (let n = 0; ; n++) {
    const info = await smallAdmin.info("memory");
    const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
    const max = Number(/^maxmemory:(\d+)/m.exec(info)?.[1]);
    if (used >= 0.97 * max) break;
    await smallAdmin.set(`filler:${n}`, randomBytes(Math.min(128 * 1024, Math.ceil(0.97 * max - used))));
  }
  while (guard?.state?.memory.full !== true) await sleep(10);
  const refused = await ingest(r);
  assert.equal(refused.status, 503);
  assert.equal(refused.headers["retry-after"], "5");
  assert.equal((refused.json as { code: string }).code, "unavailable");
  const pushed = await push(r);
  assert.equal(pushed.status, 503);
  assert.equal((pushed.json as { code: string }).code, "unavailable");
  assert.equal((await r.payloads()).length, 1, "nothing stored while full");

  await smallAdmin.del(...(await smallAdmin.keys("filler:*")));
  const deadline = Date.now() + 3_000;
  let status = 0;
  while (status !== 200 && Date.now() < deadline) {
    status = (await ingest(r)).status;
    if (status !== 200) await sleep(20);
  }
  assert.equal(status, 200, "recovers by itself");
});

test("a Redis master without the replicas --redis.min-replicas asks for: 503 with Retry-After, nothing stored, 200 once its replica is back", async (t) => {
  const master = await startRedisServer({ tcp: true });
  const replica = await startRedisServer({ replicaOf: master });
  const masterAdmin = await adminConnection(master);
  t.after(async () => {
    masterAdmin.disconnect();
    await replica.stop();
    await master.stop();
  });
  let guard: RedisGuard | undefined;
  const r = await startTestReceiver(t, master, masterAdmin, {
    guard: (connection) => (guard = new RedisGuard({ connection, minReplicas: 1, intervalMs: 20 })),
    replication: { minReplicas: 1, timeoutMs: 2_000 },
  });
  while (guard?.state === undefined) await sleep(10);
  assert.equal((await ingest(r)).status, 200);

  await replica.kill();
  while (guard.state.shortOfReplicas.length === 0) await sleep(10);
  const started = Date.now();
  const refused = await ingest(r);
  assert.equal(refused.status, 503);
  assert.ok(Date.now() - started < 1_000, "refused at once, not after WAIT's timeout");
  assert.equal(refused.headers["retry-after"], "5");
  assert.match(refused.body.toString(), /too few Redis replicas online to store the profile durably; it was not stored, retry later/);
  const pushed = await push(r);
  assert.equal(pushed.status, 503);
  assert.equal((pushed.json as { code: string }).code, "unavailable");
  assert.equal((await r.payloads()).length, 1, "nothing stored without the replica");

  await replica.restart();
  const deadline = Date.now() + 10_000;
  let status = 0;
  while (status !== 200 && Date.now() < deadline) {
    status = (await ingest(r)).status;
    if (status !== 200) await sleep(20);
  }
  assert.equal(status, 200, "recovers by itself");
});
