import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { assertDelivered, waitForDelivery } from "./support/check.js";
import { LoadGenerator } from "./support/load.js";
import { startRelay } from "./support/relay.js";
import { faultStage, forwardingToBoth } from "./support/stage.js";

describe("fault 2: kill -9 the ingest process under load", () => {
  const stage = faultStage();

  it("every profile that got a 2xx is delivered to every target", { timeout: 120_000 }, async (t) => {
    const { redis, a, b } = stage;
    const { config, url, ledgers } = await forwardingToBoth(a, b);
    stage.processes.push(await startRelay("writer", config, redis));
    const doomed = await startRelay("ingest", config, redis);
    stage.processes.push(doomed);

    const load = new LoadGenerator({ url: url, tag: "i2" });
    const steady = load.steady(25);
    await sleep(3_000);
    await doomed.stop("SIGKILL");
    const ackedBeforeKill = load.acked.size;
    await sleep(1_000);
    // A new ingest process on the same port, as a supervisor would restart it.
    stage.processes.push(await startRelay("ingest", config, redis));
    await sleep(3_000);
    await steady.stop();

    t.diagnostic(`acknowledged before the kill ${ackedBeforeKill}, after the restart ${load.acked.size - ackedBeforeKill}`);
    assert.ok(
      load.attempts.some((a) => a.status === "error"),
      "some requests met the dead process",
    );
    const outcome = await waitForDelivery(load, ledgers, 30_000);
    // Nothing delivers twice here: only the receiving side crashed.
    assertDelivered(t, outcome, { maxDuplicates: 0 });
  });
});
