import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { readTargetBacklog } from "@pyroscope-relay/queue";
import { gzippedPprof, pollUntil, startFakeTarget, startRedisServer, freePort } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisServerHandle } from "@pyroscope-relay/testing";
import { relayConfig } from "./support/relay-config.js";
import { startRelayProcess } from "./support/relay-process.js";
import type { RelayProcess } from "./support/relay-process.js";

describe("pyroscope-relay run: per-target backlog bounds", () => {
  let redis: RedisServerHandle;
  let held: FakeTarget;
  let live: FakeTarget;

  before(async () => {
    redis = await startRedisServer();
  });

  after(async () => {
    await redis?.stop();
  });

  /**
   * A relay whose target `held` never answers until released (its 3 deliveries stay active, a full
   * backlog of 3 jobs) and whose target `live` answers at once.
   */
  async function start(policy: "drop" | "reject"): Promise<{ relay: RelayProcess; send: (seed: number) => Promise<Response> }> {
    held = await startFakeTarget();
    live = await startFakeTarget();
    held.hold();
    const port = await freePort();
    const relay = await startRelayProcess({
      args: [`--redis.url=${redis.url}`, `--queue.prefix=${policy}`, "--target.max-backlog-profiles=3", `--target.backlog-full=${policy}`],
      config: relayConfig({
        port,
        targets: [
          { name: "held", url: held.url },
          { name: "live", url: live.url },
        ],
      }),
    });
    const send = (seed: number) => fetch(`http://127.0.0.1:${port}/ingest?name=app&format=pprof`, { method: "POST", body: gzippedPprof({ seed }) });
    return { relay, send };
  }

  async function stop(relay: RelayProcess): Promise<void> {
    held.release();
    await relay.stop();
    await Promise.all([held.close(), live.close()]);
  }

  it("reject: after 3 profiles the 4th gets 429 with Retry-After for every target; accepted again once held drains", async () => {
    const { relay, send } = await start("reject");
    try {
      for (let seed = 1; seed <= 3; seed++) assert.equal((await send(seed)).status, 200);
      await Promise.all([held.waitForRequests(3), live.waitForRequests(3)]);

      const refused = await send(4);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get("retry-after"), "10");
      const body = (await refused.json()) as { code: string; message: string };
      assert.equal(body.code, "resource_exhausted");
      assert.match(body.message, /target held \(3 of 3 profiles\)/);
      await sleep(200);
      assert.equal(live.requests.length, 3, "a rejected request is stored for no target");

      held.release();
      const deadline = Date.now() + 15_000;
      let status = 0;
      while (status !== 200 && Date.now() < deadline) {
        status = (await send(5)).status;
        if (status !== 200) await sleep(50);
      }
      assert.equal(status, 200, "accepted again once held's backlog drained");
      await live.waitForRequests(4);
      const metrics = await (await fetch(`${relay.opsUrl}/metrics`)).text();
      assert.match(metrics, /^pyroscope_relay_backlog_full_total\{target="held",policy="reject"\} [1-9]\d*$/m);
    } finally {
      await stop(relay);
    }
  });

  it("drop: every request gets 200, live receives all of them, held only the 3 its backlog had room for", async () => {
    const { relay, send } = await start("drop");
    try {
      for (let seed = 1; seed <= 3; seed++) assert.equal((await send(seed)).status, 200);
      await Promise.all([held.waitForRequests(3), live.waitForRequests(3)]);
      // Admission reads the backlog counters every second: live's deliveries must be in a reading,
      // or live would be full too (rightly, while its 3 profiles waited). Once Redis counts them out,
      // two of the relay's readings later admission has seen it.
      const client = new Redis({ path: redis.socketPath, maxRetriesPerRequest: 3 });
      try {
        await pollUntil("live's backlog to empty", async () => (await readTargetBacklog(client, "drop", "live")).profiles === 0, { timeoutMs: 15_000 });
      } finally {
        client.disconnect();
      }
      await sleep(2_500);
      for (let seed = 4; seed <= 5; seed++) assert.equal((await send(seed)).status, 200);
      await live.waitForRequests(5);
      await held.waitForRequests(3);

      const metrics = await (await fetch(`${relay.opsUrl}/metrics`)).text();
      assert.match(metrics, /^pyroscope_relay_backlog_full_total\{target="held",policy="drop"\} 2$/m);
      assert.match(metrics, /^pyroscope_relay_backlog_dropped_profiles_total\{target="held"\} 2$/m);
      assert.doesNotMatch(metrics, /backlog_full_total\{target="live"/);
      const logged = relay
        .output()
        .split("\n")
        .filter((line) => line.includes("target backlog full"));
      assert.equal(logged.length, 1, "one log line for the two drops");

      held.release();
      await sleep(300);
      assert.equal(held.requests.length, 3, "the dropped profiles never reach held");
    } finally {
      await stop(relay);
    }
  });
});
