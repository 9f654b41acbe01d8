import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { startFakeTarget, startRedisServer, freePort } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisServerHandle } from "@pyroscope-relay/testing";
import type { RelayProcess } from "../e2e/support/relay-process.js";
import { assertDelivered, waitForDelivery } from "./support/check.js";
import { ledgerFor } from "./support/ledger.js";
import { LoadGenerator } from "./support/load.js";
import { inspect, payloadKeys, relayConfig, startRelay } from "./support/relay.js";

const profileBytes = 512 * 1024;

describe("fault 6: Redis reaches maxmemory (20mb, noeviction)", () => {
  let redis: RedisServerHandle;
  let a: FakeTarget;
  let relay: RelayProcess;

  before(async () => {
    redis = await startRedisServer({ appendonly: true, appendfsync: "everysec", maxmemory: "20mb" });
    a = await startFakeTarget();
  });

  after(async () => {
    a?.release();
    await relay?.stop();
    await a?.close();
    await redis?.stop();
  });

  it("503 and never 200 for what is not stored; 200 again once the backlog drains", { timeout: 120_000 }, async (t) => {
    const port = await freePort();
    const config = relayConfig({ port, targets: [{ name: "a", url: a.url }] });
    const ledgers = [ledgerFor("a", a)];
    relay = await startRelay("run", config, redis);
    // Incompressible and distinct, so Redis really holds every byte.
    const load = new LoadGenerator({ url: `http://127.0.0.1:${port}`, tag: "m6", body: () => randomBytes(profileBytes) });

    a.hold();
    let refusedInARow = 0;
    for (let i = 0; i < 150 && refusedInARow < 5; i++) {
      const { status } = await load.send();
      refusedInARow = status === 200 ? 0 : refusedInARow + 1;
    }
    const fullStatuses = load.statusCounts();
    t.diagnostic(`filling: ${JSON.stringify(fullStatuses)} with ${profileBytes / 1024} KiB profiles`);
    assert.ok((fullStatuses["200"] ?? 0) > 0, "some profiles fit");
    assert.ok((fullStatuses["503"] ?? 0) > 0, "a full Redis is answered with 503");
    const logged =
      relay
        .output()
        .split("\n")
        .find((line) => line.includes("profiles not stored")) ?? "{}";
    const why = String((JSON.parse(logged) as { err?: { message?: string } }).err?.message);
    t.diagnostic(`logged: ${why.slice(0, 120)}`);
    // The memory guard refuses from 95% of maxmemory; a burst between two readings meets Redis' OOM.
    assert.match(why, /OOM|of maxmemory/, "the 503s come from Redis' maxmemory");
    assert.deepEqual(Object.keys(fullStatuses).sort(), ["200", "503"], "only 200 or 503");
    assert.ok(
      load.attempts.filter((x) => x.status === 503).every((x) => x.retryAfter),
      "503 carries Retry-After",
    );

    const client = inspect(redis);
    try {
      // Profiles sent one after the other each go out in a flush (a batch) of their own.
      const stored = (await payloadKeys(client)).filter((key) => key.endsWith(":chunk:0"));
      const memory = /used_memory_human:(\S+)/.exec(await client.info("memory"))?.[1];
      t.diagnostic(`Redis full: ${stored.length} payloads stored, used_memory ${memory}`);
      // Nothing drains while the target holds: every 200 is one stored payload, every 503 left none behind.
      assert.equal(stored.length, load.acked.size);
    } finally {
      client.disconnect();
    }

    a.release();
    const releasedAt = Date.now();
    let recovered = false;
    while (!recovered && Date.now() - releasedAt < 60_000) {
      recovered = (await load.send()).status === 200;
      if (!recovered) await sleep(500);
    }
    t.diagnostic(`200 again ${((Date.now() - releasedAt) / 1000).toFixed(1)} s after the target was released`);
    assert.ok(recovered, "ingest accepts again once the writers have drained Redis");

    const outcome = await waitForDelivery(load, ledgers, 60_000);
    assertDelivered(t, outcome, { maxDuplicates: 0 });
  });
});
