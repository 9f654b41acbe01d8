import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { queueNameFor } from "@pyroscope-relay/queue";
import { gzippedPprof, pollUntil, startFakeTarget, startRedisServer, freePort } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisServerHandle } from "@pyroscope-relay/testing";
import { relayConfig } from "./support/relay-config.js";
import { startRelayProcess } from "./support/relay-process.js";
import type { RelayProcess } from "./support/relay-process.js";

describe("pyroscope-relay run: retries follow Alloy's rules", () => {
  let redis: RedisServerHandle;
  let flaky: FakeTarget;
  let strict: FakeTarget;
  let relay: RelayProcess;
  let ingestUrl: string;

  before(async () => {
    redis = await startRedisServer();
    flaky = await startFakeTarget();
    strict = await startFakeTarget();
    const port = await freePort();
    ingestUrl = `http://127.0.0.1:${port}/ingest`;
    relay = await startRelayProcess({
      args: [`--redis.url=${redis.url}`],
      config: relayConfig({
        port,
        targets: [
          {
            name: "flaky",
            url: flaky.url,
            endpoint: `min_backoff_period = "50ms"
    max_backoff_period = "200ms"`,
          },
          { name: "strict", url: strict.url, endpoint: `min_backoff_period = "50ms"` },
        ],
      }),
    });
  });

  after(async () => {
    await relay?.stop();
    await flaky?.close();
    await strict?.close();
    await redis?.stop();
  });

  it("503 twice then 200: delivered on the third attempt; 400: tried once and kept as failed", async () => {
    flaky.failNext(2, 503, { body: "overloaded" });
    strict.failNext(1, 400, { body: '{"code":"invalid_argument","message":"bad profile"}' });
    const body = gzippedPprof({ seed: 20 });
    const res = await fetch(`${ingestUrl}?name=app&format=pprof`, { method: "POST", body, headers: { "Content-Type": "application/octet-stream" } });
    assert.equal(res.status, 200);

    await flaky.waitForRequests(3, 10_000);
    assert.deepEqual(
      flaky.requests.map((r) => r.body.equals(body)),
      [true, true, true],
    );

    await strict.waitForRequests(1, 10_000);

    const connection = new Redis({ path: redis.socketPath, maxRetriesPerRequest: null });
    const queue = new Queue(queueNameFor("strict"), { connection, prefix: "pyroscope-relay" });
    try {
      await pollUntil("strict's batch in failed", async () => (await queue.getFailedCount()) > 0);
      await sleep(500);
      assert.equal(strict.requests.length, 1, "a permanent error is not retried");
      assert.equal(flaky.requests.length, 3);
      const failed = await queue.getFailed();
      assert.equal(failed.length, 1);
      assert.match(failed[0]!.failedReason, /400/);
      assert.match(failed[0]!.failedReason, /bad profile/);
      assert.equal(failed[0]!.attemptsMade, 1);
      const kept = await connection.keys("pyroscope-relay:batch:*:profile:*");
      assert.ok(kept.length > 0, "the failed job keeps a copy of its profile for replay");
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });
});
