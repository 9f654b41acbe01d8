import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { assertDelivered, assertRecovered, eventually, waitForDelivery } from "./support/check.js";
import { LoadGenerator } from "./support/load.js";
import { clusterFaultStage, relayOnCluster } from "./support/stage.js";

const concurrency = 4;

describe("fault 10: kill -9 a Redis Cluster master under load, with --redis.min-replicas 1", () => {
  // A replica per master that must hold every flush.
  const stage = clusterFaultStage({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1_000 });

  it("503 (never 200 for an unstored profile) while the replica takes over; 200 after, but for at most 10% refused with 503 and Retry-After, each taken when sent again; writers go on; every acknowledged profile delivered", {
    timeout: 180_000,
  }, async (t) => {
    const { cluster } = stage;
    const { url, ledgers } = await relayOnCluster(stage, concurrency);

    const load = new LoadGenerator({ url: url, tag: "c10" });
    const steady = load.steady(20);
    await sleep(3_000);
    const [victim] = (await cluster.masters()) as [(typeof cluster.nodes)[number]];
    await victim.kill();
    const killedAt = Date.now();
    await cluster.waitHealthy(30_000);
    const promotedAt = Date.now();
    // The promoted replica has no replica of its own: its slots refuse flushes until the old master
    // is back, as its replica.
    await victim.restart();
    await cluster.waitHealthy(30_000);
    const rejoinedAt = Date.now();
    const recovered = await eventually(() => load.attempts.some((x) => x.startedAt >= rejoinedAt && x.status === 200), 20_000);
    await sleep(5_000);
    await steady.stop();

    t.diagnostic(`replica promoted ${promotedAt - killedAt} ms after the kill; old master back as a replica ${rejoinedAt - promotedAt} ms later`);
    const during = load.attempts.filter((x) => x.startedAt >= killedAt && x.startedAt < rejoinedAt);
    const statuses = (attempts: typeof during) => [...new Set(attempts.map((x) => x.status))].sort();
    t.diagnostic(`during the failover: ${during.length} requests, statuses ${statuses(during).join(", ")}; overall ${JSON.stringify(load.statusCounts())}`);
    assert.ok(
      during.some((x) => x.status === 503),
      "the failover is answered with 503",
    );
    assert.deepEqual(
      statuses(during).filter((s) => s !== 200 && s !== 503),
      [],
      "only 200 or 503 during the failover",
    );
    assert.ok(
      during.filter((x) => x.status === 503).every((x) => x.retryAfter),
      "503 carries Retry-After",
    );
    assert.ok(recovered, "ingest answers 200 again without a restart");
    await assertRecovered(
      t,
      load,
      load.attempts.filter((x) => x.startedAt >= rejoinedAt + 2_000),
      "once the cluster is whole again",
    );

    const outcome = await waitForDelivery(load, ledgers, 90_000);
    // A delivery whose completion the failed master took with it runs again: at most what was in
    // flight, a batch (about one profile at this rate) per writer slot of each shard's worker.
    assertDelivered(t, outcome, { maxDuplicates: 4 * concurrency });
  });
});
