import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { assertDelivered, eventually, waitForDelivery } from "./support/check.js";
import type { RecordedRequest } from "@pyroscope-relay/testing";
import { profileIdOf } from "./support/ledger.js";
import { LoadGenerator } from "./support/load.js";
import { claimedQueries, inspect, startRelay } from "./support/relay.js";
import { faultStage, forwardingToBoth } from "./support/stage.js";

const concurrency = 4;

describe("fault 1: kill -9 a writer while the target holds its requests open", () => {
  const stage = faultStage();

  // BullMQ hands a dead worker's jobs to another only once their lock (15 s) has expired and two
  // stalled checks (every 15 s) have seen them: allow a couple of minutes.
  it("a new writer delivers everything, the dead writer's jobs included", { timeout: 240_000 }, async (t) => {
    const { redis, a, b } = stage;
    const { config, url, ledgers } = await forwardingToBoth(a, b);
    const args = [`--writer.concurrency=${concurrency}`];
    stage.processes.push(await startRelay("ingest", config, redis, args));
    const doomed = await startRelay("writer", config, redis, args);
    stage.processes.push(doomed);

    a.hold();
    const load = new LoadGenerator({ url: url, tag: "w1" });
    await load.sendSequentially(30);
    // The writer has as many deliveries open at `a` as it may have.
    await a.waitForRequests(concurrency, 20_000);
    // Profiles that arrive now wait behind the hung drain job, whatever it claimed of the first ones.
    await load.sendSequentially(10);
    await sleep(500);
    const held = a.requests.map((r) => profileIdOf(r)!);
    // What the dead writer's drain jobs claimed waits with them for BullMQ's recovery.
    const client = inspect(redis);
    const claimed = (await claimedQueries(client, "a").finally(() => client.disconnect())).map((query) => profileIdOf({ query } as RecordedRequest)!);
    await doomed.stop("SIGKILL");
    const killedAt = Date.now();
    stage.processes.push(await startRelay("writer", config, redis, args));
    a.release();

    // The target took the held profiles, but the dead writer never saw the answers: those jobs are not
    // done until another writer has delivered them again.
    const again = (id: string) => ledgers[0]!.accepted.get(id)?.find((at) => at > killedAt);
    const redelivered = await eventually(() => held.every((id) => again(id) !== undefined), 180_000, 500);
    const outcome = await waitForDelivery(load, ledgers, 30_000);
    const others = [...load.acked.keys()].filter((id) => !claimed.includes(id)).map((id) => ledgers[0]!.accepted.get(id)?.[0] ?? Number.NaN);
    const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    t.diagnostic(`held at a when the writer died: ${held.length}; delivered again ${held.map((id) => secs(again(id)! - killedAt)).join(", ")} after the kill`);
    t.diagnostic(
      `claimed by its drain jobs: ${claimed.length}; the ${others.length} profiles waiting reached a within ${secs(Math.max(...others) - killedAt)} of the kill`,
    );
    assert.ok(redelivered, "every delivery cut off by the crash is made again");
    assert.ok(
      held.every((id) => claimed.includes(id)),
      "the deliveries in flight were the dead writer's drain jobs'",
    );
    assert.ok(others.length > 0, "some profiles were still waiting at the kill");
    // Only the dead writer's jobs wait for BullMQ's stalled-job recovery; the queue behind them does not.
    assert.ok(Math.max(...others) - killedAt < 20_000, "the new writer takes the waiting profiles at once");
    // Each delivery open at the crash may be repeated once.
    assertDelivered(t, outcome, { maxDuplicates: held.length });
  });
});
