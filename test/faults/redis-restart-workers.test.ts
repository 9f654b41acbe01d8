import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { assertDelivered, waitForDelivery } from "./support/check.js";
import { LoadGenerator } from "./support/load.js";
import { startRelay } from "./support/relay.js";
import { faultStage, forwardingToBoth } from "./support/stage.js";

/**
 * BullMQ 6.0-6.3 workers stopped consuming after outages longer than a few seconds (#4585): the
 * issue's outages, or a comma-separated list of milliseconds in FAULT_REDIS_OUTAGES_MS.
 */
const outages = (process.env.FAULT_REDIS_OUTAGES_MS ?? "3000,10000,60000").split(",").map(Number);

for (const outageMs of outages)
  describe(`fault 7: workers resume after Redis is killed and restarted (${outageMs / 1000} s down)`, () => {
    const stage = faultStage();

    it("profiles sent after the restart are delivered by the same writer process", { timeout: outageMs + 120_000 }, async (t) => {
      const { redis, a, b } = stage;
      const { config, url, ledgers } = await forwardingToBoth(a, b);
      const relay = await startRelay("run", config, redis);
      stage.processes.push(relay);

      const early = new LoadGenerator({ url, tag: `k7a${outageMs}` });
      await early.sendSequentially(5);
      assertDelivered(t, await waitForDelivery(early, ledgers, 15_000), { maxDuplicates: 0 });

      await redis.kill();
      const during = new LoadGenerator({ url, tag: `k7d${outageMs}` });
      const downSince = Date.now();
      const statuses = new Set<number | "error">();
      while (Date.now() - downSince < outageMs) {
        statuses.add((await during.send()).status);
        await sleep(500);
      }
      t.diagnostic(`answers while Redis was down: ${[...statuses].join(", ")}`);
      assert.deepEqual([...statuses], [503], "ingest answers 503, never 200, while Redis is down");
      await redis.restart();
      const restartedAt = Date.now();

      const late = new LoadGenerator({ url, tag: `k7b${outageMs}` });
      let accepted = false;
      while (!accepted && Date.now() - restartedAt < 30_000) {
        accepted = (await late.send()).status === 200;
        if (!accepted) await sleep(250);
      }
      assert.ok(accepted, "ingest answers 200 again");
      t.diagnostic(`ingest accepted again ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after the restart`);
      await late.sendSequentially(10);
      const outcome = await waitForDelivery(late, ledgers, 60_000);
      t.diagnostic(`delivered ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after the restart`);
      assertDelivered(t, outcome, { maxDuplicates: 0 });
      assert.equal(relay.child.exitCode, null, "the relay kept running");
    });
  });
