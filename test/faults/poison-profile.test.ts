import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { assertDelivered, eventually, waitForDelivery } from "./support/check.js";
import { profileIdOf } from "./support/ledger.js";
import { LoadGenerator } from "./support/load.js";
import { failedJobs, inspect, startRelay } from "./support/relay.js";
import { faultStage, forwardingToBoth } from "./support/stage.js";

const poisonId = "p5x-poison";

describe("fault 5: a poison profile (the target answers 400 for it)", () => {
  const stage = faultStage();

  it("fails at once and is kept as failed; the profiles behind it keep flowing", { timeout: 60_000 }, async (t) => {
    const { redis, a, b } = stage;
    // Plenty of retries and a long backoff: a retried 400 would show as a stuck queue, not a quick failure.
    const endpoint = `    max_backoff_retries = 10
    min_backoff_period  = "2s"`;
    const { config, url, ledgers } = await forwardingToBoth(a, b, endpoint);
    ledgers[0]!.answer((id) => (id === poisonId ? { status: 400, body: '{"code":"invalid_argument","message":"poison: malformed profile"}' } : undefined));
    const relay = await startRelay("run", config, redis);
    stage.processes.push(relay);

    const load = new LoadGenerator({ url, tag: "p5" });
    const poison = new LoadGenerator({ url, tag: "p5x" });
    await load.sendSequentially(10);
    const poisonSentAt = Date.now();
    assert.equal((await poison.send(poisonId)).status, 200);
    await load.sendSequentially(10);

    const outcome = await waitForDelivery(load, ledgers, 30_000);
    assertDelivered(t, outcome, { maxDuplicates: 0 });
    const poisonAtB = await waitForDelivery(poison, [ledgers[1]!], 30_000);
    assert.deepEqual(poisonAtB.report.targets[0]!.missing, [], "the other target gets the poison profile");

    const client = inspect(redis);
    try {
      let failed: Awaited<ReturnType<typeof failedJobs>> = [];
      assert.ok(await eventually(async () => (failed = await failedJobs(client, "a")).length > 0, 15_000), "a failed job appears");
      t.diagnostic(`failed ${(failed[0]!.finishedOn ?? Number.NaN) - poisonSentAt} ms after it was sent: ${failed[0]!.failedReason}`);
      assert.equal(failed.length, 1);
      assert.match(failed[0]!.failedReason, /400/);
      const [profile, ...others] = (failed[0]!.data as { profiles: { query?: string }[] }).profiles;
      assert.equal(others.length, 0, "the failed job holds the poison profile alone");
      assert.match(String(profile?.query), new RegExp(`fid%3D${poisonId}`));
      assert.equal(failed[0]!.attemptsMade, 1, "a 400 is not retried");
      assert.equal((await failedJobs(client, "b")).length, 0);
    } finally {
      client.disconnect();
    }
    assert.equal(a.requests.filter((r) => profileIdOf(r) === poisonId).length, 1, "the target saw the poison profile once");
  });
});
