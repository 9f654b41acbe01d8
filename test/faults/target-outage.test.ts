import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startFakeTarget, startRedisServer, freePort } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisServerHandle } from "@pyroscope-relay/testing";
import type { RelayProcess } from "../e2e/support/relay-process.js";
import { assertDelivered, percentile, waitForDelivery } from "./support/check.js";
import { ledgerFor } from "./support/ledger.js";
import type { TargetLedger } from "./support/ledger.js";
import { LoadGenerator } from "./support/load.js";
import { failedJobs, inspect, relayConfig, startRelay } from "./support/relay.js";

/** How long the target stays down; the issue asks for 2 minutes, shorter runs help while iterating. */
const outageMs = Number(process.env.FAULT_OUTAGE_MS ?? 120_000);
const rate = 4;
// Unbounded retries (0), and a short cap so that the backlog drains soon after the target is back.
const retryRules = `    max_backoff_retries = 0
    min_backoff_period  = "200ms"
    max_backoff_period  = "5s"`;

describe(`fault 4: a target down for ${outageMs / 1000} s under steady load`, () => {
  let redis: RedisServerHandle;
  let down: FakeTarget;
  let healthy: FakeTarget;
  let relay: RelayProcess;

  before(async () => {
    redis = await startRedisServer({ appendonly: true, appendfsync: "always" });
    down = await startFakeTarget();
    healthy = await startFakeTarget();
  });

  after(async () => {
    await relay?.stop();
    await down?.close();
    await healthy?.close();
    await redis?.stop();
  });

  it("nothing fails, the backlog drains, the other target keeps its pace", { timeout: outageMs + 180_000 }, async (t) => {
    const port = await freePort();
    const config = relayConfig({
      port,
      targets: [
        { name: "down", url: down.url, endpoint: retryRules },
        { name: "healthy", url: healthy.url, endpoint: retryRules },
      ],
    });
    const ledgers = [ledgerFor("down", down), ledgerFor("healthy", healthy)];
    relay = await startRelay("run", config, redis);

    const load = new LoadGenerator({ url: `http://127.0.0.1:${port}`, tag: "o4" });
    const steady = load.steady(rate);
    await sleep(10_000);
    const outageStart = Date.now();
    ledgers[0]!.answer(() => ({ status: 503, body: "down for maintenance" }));
    await sleep(outageMs);
    ledgers[0]!.answer(undefined);
    const outageEnd = Date.now();
    await sleep(5_000);
    await steady.stop();

    const outcome = await waitForDelivery(load, ledgers, 120_000);
    const healthyBefore = latencies(load.acked, ledgers[1]!, (at) => at < outageStart);
    const healthyDuring = latencies(load.acked, ledgers[1]!, (at) => at >= outageStart && at < outageEnd);
    const fmt = (ms: number[]) => `p50 ${percentile(ms, 50)} ms, p99 ${percentile(ms, 99)} ms (n=${ms.length})`;
    t.diagnostic(`refused by the target while down: ${ledgers[0]!.refused} attempts`);
    t.diagnostic(`healthy target latency before the outage: ${fmt(healthyBefore)}`);
    t.diagnostic(`healthy target latency during the outage: ${fmt(healthyDuring)}`);
    const backlog = [...load.acked].filter(([, sentAt]) => sentAt < outageEnd).map(([id]) => ledgers[0]!.accepted.get(id)?.[0] ?? Number.NaN);
    t.diagnostic(`backlog of ${backlog.length} drained ${((Math.max(...backlog) - outageEnd) / 1000).toFixed(1)} s after the target came back`);
    assertDelivered(t, outcome, { maxDuplicates: 0 });

    assert.ok(ledgers[0]!.refused > 0, "the outage was seen");
    assert.ok(healthyDuring.length >= (rate * outageMs) / 1000 / 2, "the healthy target kept receiving during the outage");
    // Generous for a shared 2-core machine; the figures above show the real difference.
    assert.ok(percentile(healthyDuring, 99) < 5_000, "the healthy target still gets profiles within seconds");
    const client = inspect(redis);
    try {
      assert.equal((await failedJobs(client, "down")).length, 0, "no job failed at the target that was down");
      assert.equal((await failedJobs(client, "healthy")).length, 0);
    } finally {
      client.disconnect();
    }
  });
});

/** Send-to-first-acceptance time at `ledger` of the acknowledged profiles sent when `when(sentAt)`. */
function latencies(acked: Map<string, number>, ledger: TargetLedger, when: (sentAt: number) => boolean): number[] {
  const result: number[] = [];
  for (const [id, sentAt] of acked) {
    const first = ledger.accepted.get(id)?.[0];
    if (when(sentAt) && first !== undefined) result.push(first - sentAt);
  }
  return result;
}
