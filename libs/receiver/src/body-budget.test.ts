import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code } from "@connectrpc/connect";
import { createLogger, RelayMetrics } from "@pyroscope-relay/ops";
import { BodyBudget } from "./body-budget.js";
import { ThrottledLog } from "@pyroscope-relay/ops";

function budget(maxBytes: number): { bodies: BodyBudget; metrics: RelayMetrics } {
  const metrics = new RelayMetrics();
  return { bodies: new BodyBudget(maxBytes, metrics, new ThrottledLog(createLogger({ level: "silent" }))), metrics };
}

async function refusedCount(metrics: RelayMetrics, api: string): Promise<number> {
  const { values } = await metrics.inflightBodyRefused.get();
  return values.find((v) => v.labels.api === api)?.value ?? 0;
}

describe("BodyBudget", () => {
  test("takes bodies up to the bound, and refuses one that would pass it while others are held: 503 unavailable with Retry-After", async () => {
    const { bodies, metrics } = budget(100);
    const first = bodies.hold("default", "ingest");
    const second = bodies.hold("default", "push");
    assert.equal(first.take(60), undefined);
    assert.equal(second.take(40), undefined, "exactly the bound fits");
    const third = bodies.hold("default", "push");
    const refused = third.take(1);
    assert.ok(refused !== undefined);
    assert.equal(refused.code, Code.Unavailable);
    assert.equal(refused.httpStatus, 503);
    assert.equal(refused.retryAfterSeconds, 1);
    assert.equal(
      refused.rawMessage,
      "the relay holds 100 bytes of request bodies in memory, and this body's 1 bytes would take it past its bound (--ingest.max-inflight-body-size) of 100 bytes: the profile was not stored, retry later",
    );
    assert.equal(bodies.heldBytes, 100, "a refusal takes nothing");
    assert.equal(await refusedCount(metrics, "push"), 1);
    first.release();
    assert.equal(third.take(1), undefined, "room again once a body is given back");
    assert.equal(bodies.heldBytes, 41);
  });

  test("a body alone passes whatever its size, growing chunk by chunk; another one meanwhile is refused", () => {
    const { bodies } = budget(100);
    const alone = bodies.hold("default", "ingest");
    assert.equal(alone.take(150), undefined);
    assert.equal(alone.take(50), undefined, "it holds all there is: its next chunk passes too");
    const other = bodies.hold("default", "ingest");
    assert.ok(other.take(1) !== undefined);
    alone.release();
    assert.equal(bodies.heldBytes, 0);
    assert.equal(other.take(1), undefined);
  });

  test("a refusal mid-body names what the body holds with the chunk, and what the others hold", () => {
    const { bodies } = budget(100);
    const other = bodies.hold("default", "ingest");
    const growing = bodies.hold("default", "ingest");
    assert.equal(other.take(50), undefined);
    assert.equal(growing.take(30), undefined);
    assert.match(growing.take(30)?.rawMessage ?? "", /holds 50 bytes .* this body's 60 bytes .* of 100 bytes/);
    assert.equal(bodies.heldBytes, 80);
  });

  test("a release gives back everything taken, once; what arrives after is not held", () => {
    const { bodies } = budget(100);
    const hold = bodies.hold("default", "ingest");
    assert.equal(hold.take(10), undefined);
    assert.equal(hold.take(5), undefined);
    hold.release();
    hold.release();
    assert.equal(bodies.heldBytes, 0);
    assert.equal(hold.take(500), undefined);
    assert.equal(bodies.heldBytes, 0);
  });

  test("nothing to take is never refused, even past the bound", () => {
    const { bodies } = budget(100);
    assert.equal(bodies.hold("default", "ingest").take(150), undefined);
    assert.equal(bodies.hold("default", "ingest").take(0), undefined);
  });

  test("0 is no bound: every body is taken, and counted", () => {
    const { bodies } = budget(0);
    assert.equal(bodies.hold("default", "ingest").take(2 ** 40), undefined);
    assert.equal(bodies.hold("default", "push").take(2 ** 40), undefined);
    assert.equal(bodies.heldBytes, 2 ** 41);
  });

  test("exports what is held at each scrape, and the bound", async () => {
    const { bodies, metrics } = budget(4096);
    const hold = bodies.hold("default", "ingest");
    assert.equal(hold.take(1000), undefined);
    let lines = (await metrics.metrics()).split("\n");
    assert.ok(lines.includes("pyroscope_relay_inflight_body_bytes 1000"));
    assert.ok(lines.includes("pyroscope_relay_inflight_body_bytes_limit 4096"));
    hold.release();
    lines = (await metrics.metrics()).split("\n");
    assert.ok(lines.includes("pyroscope_relay_inflight_body_bytes 0"));
  });
});
