import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCommand } from "../e2e/support/run-command.js";
import { assertDelivered, eventually, waitForDelivery } from "./support/check.js";
import { profileIdOf } from "./support/ledger.js";
import { LoadGenerator } from "./support/load.js";
import { failedJobs, inspect, startRelay, waitingBatches } from "./support/relay.js";
import { faultStage, forwardingToBoth } from "./support/stage.js";

const poisonId = "p5x-poison";
const together = 9;

describe("fault 5: a poison profile (the target answers 400 for it)", () => {
  const stage = faultStage();

  it("fails at once and alone, its batch and the profiles behind it delivered; failed lists it, replay delivers it", { timeout: 90_000 }, async (t) => {
    const { redis, a, b } = stage;
    // Plenty of retries and a long backoff: a retried 400 would show as a stuck queue, not a quick failure.
    const endpoint = `    max_backoff_retries = 10
    min_backoff_period  = "2s"`;
    const { config, url, ledgers } = await forwardingToBoth(a, b, endpoint);
    let poisoned = true;
    ledgers[0]!.answer((id) =>
      poisoned && id === poisonId ? { status: 400, body: '{"code":"invalid_argument","message":"poison: malformed profile"}' } : undefined,
    );
    const ingest = await startRelay("ingest", config, redis);
    stage.processes.push(ingest);

    // Stored before any writer runs: one drain job claims every flush waiting, so the poison and
    // the profiles sent with it are one batch (Redis holding writes for a moment groups the flushes too).
    const load = new LoadGenerator({ url, tag: "p5" });
    const poison = new LoadGenerator({ url, tag: "p5x" });
    const pauser = inspect(redis);
    await pauser.client("PAUSE", 500, "WRITE");
    pauser.disconnect();
    const answers = await Promise.all([...Array.from({ length: together }, () => load.send()), poison.send(poisonId)]);
    assert.deepEqual(
      answers.map((answer) => answer.status),
      Array(together + 1).fill(200),
    );
    const client = inspect(redis);
    try {
      const sizes = await waitingBatches(client, "a");
      assert.equal(
        sizes.reduce((sum, size) => sum + size, 0),
        together + 1,
        "the poison waits with the others for one drain job",
      );
      t.diagnostic(`profiles per flush: ${sizes.join(", ")}`);

      const poisonSentAt = Date.now();
      stage.processes.push(await startRelay("writer", config, redis));
      await load.sendSequentially(10);
      const outcome = await waitForDelivery(load, ledgers, 30_000);
      assertDelivered(t, outcome, { maxDuplicates: 0 });
      const poisonAtB = await waitForDelivery(poison, [ledgers[1]!], 30_000);
      assert.deepEqual(poisonAtB.report.targets[0]!.missing, [], "the other target gets the poison profile");

      let failed: Awaited<ReturnType<typeof failedJobs>> = [];
      assert.ok(await eventually(async () => (failed = await failedJobs(client, "a")).length > 0, 15_000), "a failed job appears");
      t.diagnostic(`failed ${(failed[0]!.finishedOn ?? Number.NaN) - poisonSentAt} ms after the writer started: ${failed[0]!.failedReason}`);
      assert.equal(failed.length, 1);
      assert.match(failed[0]!.failedReason, /400/);
      const [profile, ...others] = (failed[0]!.data as { profiles: { query?: string }[] }).profiles;
      assert.equal(others.length, 0, "the failed job holds the poison profile alone");
      assert.match(String(profile?.query), new RegExp(`fid%3D${poisonId}`));
      assert.equal(failed[0]!.attemptsMade, 1, "a 400 is not retried");
      assert.equal((await failedJobs(client, "b")).length, 0);
      assert.equal(a.requests.filter((r) => profileIdOf(r) === poisonId).length, 1, "the target saw the poison profile once");

      const command = (name: string, ...args: string[]) => runCommand([name, join(ingest.dir, "relay.alloy"), `--redis.url=${redis.url}`, ...args]);
      const listed = await command("failed", "--target", "a", "--json");
      assert.equal(listed.code, 0, listed.stderr);
      const [summary] = (JSON.parse(listed.stdout) as { targets: { target: string; batches: number; profiles: number; reasons: { reason: string }[] }[] })
        .targets;
      assert.deepEqual(
        { batches: summary?.batches, profiles: summary?.profiles, reasons: summary?.reasons.map((r) => r.reason) },
        { batches: 1, profiles: 1, reasons: ["http 400"] },
      );

      // The target is fixed: the replay delivers the poison profile, and nothing else again.
      poisoned = false;
      const replay = await command("replay", "--target", "a");
      assert.equal(replay.code, 0, replay.stderr);
      assert.equal(replay.stdout, "replayed 1 batch (1 profile), skipped 0 (payload gone), not matched 0\n");
      assert.ok(await eventually(() => ledgers[0]!.accepted.has(poisonId), 15_000), "the replay delivered the poison profile");
      assert.equal(a.requests.filter((r) => profileIdOf(r) === poisonId).length, 2);
      assert.deepEqual(
        [...ledgers[0]!.accepted].filter(([, times]) => times.length > 1),
        [],
        "the replay sent nothing that was delivered",
      );
      assert.equal((await failedJobs(client, "a")).length, 0);
    } finally {
      client.disconnect();
    }
  });
});
