import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { pollUntil } from "@pyroscope-relay/testing";
import { assertDelivered, eventually, waitForDelivery } from "./support/check.js";
import { profileIdOf } from "./support/ledger.js";
import { LoadGenerator } from "./support/load.js";
import { inspect, quietQueues, savedDone, startRelay, waitingBatches } from "./support/relay.js";
import { faultStage, forwardingToBoth } from "./support/stage.js";

const concurrency = 4;
const profiles = 40;
const answeredBeforeTheHold = 20;

describe("fault 9: kill -9 a writer in the middle of a batch", () => {
  const stage = faultStage();

  // A dead writer's batch comes back once its lock (15 s) has expired and two stalled checks (every
  // 15 s) have seen it: allow a couple of minutes.
  it("after a restart the rest of the batch is delivered; only what was in flight is delivered twice", { timeout: 240_000 }, async (t) => {
    const { redis, a, b } = stage;
    const { config, url, ledgers } = await forwardingToBoth(a, b);
    const args = [`--writer.concurrency=${concurrency}`];
    stage.processes.push(await startRelay("ingest", config, redis, args));

    // Redis holds writes for a moment: the profiles sent meanwhile wait for the first flushes and
    // go out together in the next ones, which wait for the target as segments of many profiles.
    const load = new LoadGenerator({ url: url, tag: "w9" });
    const pauser = inspect(redis);
    await pauser.client("PAUSE", 500, "WRITE");
    pauser.disconnect();
    await Promise.all(Array.from({ length: profiles }, () => load.send()));
    assert.equal(load.acked.size, profiles);
    const client = inspect(redis);
    const sizes = await waitingBatches(client, "a").finally(() => client.disconnect());
    t.diagnostic(`profiles per flush: ${sizes.join(", ")}`);
    // One drain job claims every segment waiting: the profiles of all these flushes are its batch.
    assert.equal(
      sizes.reduce((sum, size) => sum + size, 0),
      profiles,
      "every profile waits for one drain job, whose batch the hold cuts in the middle",
    );
    assert.ok(sizes.length < profiles / 4, `the flushes carried many profiles each: ${sizes.join(", ")}`);

    // Target a answers the first requests, then holds every answer: the writer stops mid-batch.
    let seen = 0;
    ledgers[0]!.answer(() => {
      if (++seen === answeredBeforeTheHold + 1) a.hold();
      return undefined;
    });
    const doomed = await startRelay("writer", config, redis, args);
    stage.processes.push(doomed);
    await a.waitForRequests(answeredBeforeTheHold + 1, 20_000);
    // The answered deliveries are in the batch's saved progress before the kill, and b, which
    // answers at once, is done with its batch: only a's held requests are in flight.
    const progress = inspect(redis);
    try {
      await pollUntil("the answered deliveries in the batch's saved progress", async () => (await savedDone(progress, "a")) >= answeredBeforeTheHold, {
        timeoutMs: 15_000,
      });
      assert.ok(await quietQueues(progress, ["b"], 15_000), "b delivered its batch before the kill");
    } finally {
      progress.disconnect();
    }
    await doomed.stop("SIGKILL");
    // Every request the writer sent before it died: those beyond the answered ones had no answer.
    const held = a.requests.slice(answeredBeforeTheHold).map((request) => profileIdOf(request)!);
    const answered = new Set(a.requests.slice(0, answeredBeforeTheHold).map((request) => profileIdOf(request)!));
    t.diagnostic(`at the kill: ${answered.size} answered, ${held.length} held in flight (concurrency ${concurrency})`);
    assert.ok(held.length >= 1 && held.length <= concurrency);
    const killedAt = Date.now();
    stage.processes.push(await startRelay("writer", config, redis, args));
    a.release();

    const outcome = await waitForDelivery(load, ledgers, 180_000);
    t.diagnostic(`everything delivered ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    const again = [...ledgers[0]!.accepted].filter(([, times]) => times.length > 1).map(([id]) => id);
    t.diagnostic(`delivered twice at a: ${again.join(", ") || "none"}`);
    assert.deepEqual(
      again.filter((id) => answered.has(id)),
      [],
      "nothing answered before the crash is sent again",
    );
    // The held requests had no answer when the writer died: its progress cannot hold them, so each
    // is sent again, and nothing else is.
    assert.deepEqual(again.sort(), [...held].sort(), "exactly the deliveries in flight at the crash are repeated");
    assertDelivered(t, outcome, { maxDuplicates: held.length });
    assert.ok(await eventually(() => ledgers[1]!.accepted.size === profiles, 1_000), "b got every profile");
  });
});
