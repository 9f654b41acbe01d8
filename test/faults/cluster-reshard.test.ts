import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { assertDelivered, assertRecovered, waitForDelivery } from "./support/check.js";
import { LoadGenerator } from "./support/load.js";
import { clusterFaultStage, relayOnCluster } from "./support/stage.js";

const concurrency = 4;

describe("fault 11: scale a Redis Cluster out under load, with --redis.min-replicas 1: add a master and its replica, move a master's slots to it", () => {
  const stage = clusterFaultStage({ masters: 3, replicasPerMaster: 1 });

  it("keys move while ingest and writers use them: every request 200 or 503 with Retry-After, writers go on, every acknowledged profile delivered", {
    timeout: 240_000,
  }, async (t) => {
    const { cluster } = stage;
    const { url, ledgers } = await relayOnCluster(stage, concurrency);

    const load = new LoadGenerator({ url, tag: "c11" });
    const steady = load.steady(20);
    await sleep(3_000);
    // A backlog for b while the keys move: payloads held for it, its jobs retried, its queue paused (a
    // circuit whose pause doubled with each request of the jobs already running reached 266 s within
    // 2 s of b's first 503, and b's profiles waited past the test's end).
    const ledgerOfB = ledgers[1]!;
    ledgerOfB.answer(() => ({ status: 503 }));
    await sleep(3_000);
    const added = await cluster.addMaster(1);
    const [from] = (await cluster.masters()) as [(typeof cluster.nodes)[number]];
    const keysBefore = await from.keyCount();
    const movingAt = Date.now();
    // All of one master's slots, a third of the keys: its batches and whichever queue shards it held.
    await cluster.reshard(added, "all", from);
    const movedAt = Date.now();
    const keysMoved = await added.keyCount();
    t.diagnostic(`${keysBefore} keys on the master whose slots moved; ${keysMoved} on the new one after`);
    assert.ok(keysMoved > 0, "keys moved to the new master");
    assert.equal(await from.keyCount(), 0, "none left behind");
    await sleep(2_000);
    ledgerOfB.answer(undefined);
    await sleep(3_000);
    await steady.stop();

    const during = load.attempts.filter((x) => x.startedAt >= movingAt && x.startedAt < movedAt);
    const statuses = [...new Set(during.map((x) => x.status))].sort();
    t.diagnostic(
      `slots moved in ${movedAt - movingAt} ms: ${during.length} requests meanwhile, statuses ${statuses.join(", ")}; overall ${JSON.stringify(load.statusCounts())}`,
    );
    await assertRecovered(t, load, during, "while the slots move");
    await assertRecovered(
      t,
      load,
      load.attempts.filter((x) => x.startedAt >= movedAt),
      "once the slots moved",
    );
    const outcome = await waitForDelivery(load, ledgers, 90_000);
    assertDelivered(t, outcome, { maxDuplicates: 4 * concurrency });
  });
});
