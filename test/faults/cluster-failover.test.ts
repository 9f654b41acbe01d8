import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startFakeTarget, startRedisCluster } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisClusterHandle } from "@pyroscope-relay/testing";
import { startRelayProcess, type RelayProcess } from "../e2e/support/relay-process.js";
import { assertDelivered, eventually, waitForDelivery } from "./support/check.js";
import { LoadGenerator } from "./support/load.js";
import { forwardingToBoth } from "./support/stage.js";

const concurrency = 4;

describe("fault 10: kill -9 a Redis Cluster master under load, with --redis.min-replicas 1", () => {
  let cluster: RedisClusterHandle;
  let a: FakeTarget;
  let b: FakeTarget;
  const processes: RelayProcess[] = [];

  before(async () => {
    // AOF fsynced before every reply, and a replica per master that must hold every flush.
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1_000, appendonly: true, appendfsync: "always" });
    a = await startFakeTarget();
    b = await startFakeTarget();
  });
  after(async () => {
    for (const p of processes) await p.stop();
    await a?.close();
    await b?.close();
    await cluster?.stop();
  });

  it("503 (never 200 for an unstored profile) while the replica takes over, 200 after; writers go on; every acknowledged profile delivered", {
    timeout: 180_000,
  }, async (t) => {
    const { config, url, ledgers } = await forwardingToBoth(a, b);
    const args = [
      `--redis.cluster-nodes=${cluster.seeds}`,
      "--target.queue-shards=4",
      "--redis.min-replicas=1",
      "--redis.replica-timeout=1s",
      `--writer.concurrency=${concurrency}`,
      "--log.level=info",
    ];
    processes.push(await startRelayProcess({ command: "ingest", config, args }));
    processes.push(await startRelayProcess({ command: "writer", config, args }));

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
    const settled = load.attempts.filter((x) => x.startedAt >= rejoinedAt + 2_000);
    assert.ok(settled.length > 0);
    // Once the cluster is whole again a flush may still miss ingest's deadline now and then (an fsync
    // or a replica's confirmation slow on a busy machine): a 503 with Retry-After, which a client
    // sends again, and which the relay then takes. Nothing else.
    const refused = settled.filter((x) => x.status !== 200);
    t.diagnostic(`once the cluster is whole again: ${settled.length} requests, ${refused.length} refused`);
    assert.deepEqual(
      refused.filter((x) => x.status !== 503 || !x.retryAfter),
      [],
      "every request is 200, or 503 with Retry-After, once the cluster is whole again",
    );
    assert.deepEqual(await load.resend(refused), [], "a profile refused once the cluster is whole again is taken when sent again");

    const outcome = await waitForDelivery(load, ledgers, 90_000);
    // A delivery whose completion the failed master took with it runs again: at most what was in
    // flight, a batch (about one profile at this rate) per writer slot of each shard's worker.
    assertDelivered(t, outcome, { maxDuplicates: 4 * concurrency });
  });
});
