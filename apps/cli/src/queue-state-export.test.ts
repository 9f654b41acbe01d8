import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { RelayMetrics } from "@pyroscope-relay/ops";
import { createRedisConnection, Enqueuer, waitForRedis } from "@pyroscope-relay/queue";
import { startEmbeddedRedis } from "@pyroscope-relay/redis-server";
import { pollUntil, startRedisServer, targetConfig } from "@pyroscope-relay/testing";
import { QueueStateExport } from "./queue-state-export.js";

const dir = await mkdtemp(join(tmpdir(), "queue-state-export-"));
const redis = await startEmbeddedRedis(dir);
const connection = createRedisConnection(redis.url, "admin");
connection.on("error", () => undefined);
await waitForRedis(connection, 5_000);
after(async () => {
  connection.disconnect();
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
});

const target = targetConfig("a", { url: "http://pyroscope-a:4040", maxBackoffRetries: 3 });

/** A process's metrics with its queue-state export, as relay-process wires them. */
function relayProcess(prefix: string) {
  const metrics = new RelayMetrics();
  const state = new QueueStateExport(connection, prefix, 1);
  state.setTargets([target]);
  state.attach(metrics, (err) => assert.fail(err as Error));
  return { metrics, state };
}

/** The value of one series in a scrape, or undefined when the scrape has no such series. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test("one process of a deployment exports the queue state, so that sums over processes are right; another takes over when it closes", async () => {
  const prefix = `t-${randomUUID()}`;
  const enqueuer = new Enqueuer({ connection, prefix, payloadTtlMs: 60_000, targets: [target] });
  await enqueuer.enqueue(Buffer.from("profile"), { kind: "ingest", receivedAt: Date.now(), query: "name=app", contentTypes: [] }, ["a"]);
  await enqueuer.close();
  const [first, second] = [relayProcess(prefix), relayProcess(prefix)];
  const waiting = 'pyroscope_relay_queue_jobs{target="a",state="waiting"}';
  const purged = 'pyroscope_write_dropped_profiles_total{target="a",endpoint="http://pyroscope-a:4040",reason="purge"}';

  const scrapes = [await first.metrics.metrics(), await second.metrics.metrics()];
  assert.deepEqual(
    scrapes.map((text) => sample(text, waiting)),
    [1, undefined],
  );
  assert.deepEqual(
    scrapes.map((text) => sample(text, purged)),
    [0, undefined],
  );
  assert.deepEqual(
    scrapes.map((text) => sample(text, "pyroscope_relay_queue_state_exporter")),
    [1, 0],
  );
  assert.equal(sample(scrapes[0]!, 'pyroscope_relay_queue_backlog_bytes{target="a"}'), 7);
  assert.equal(sample(await first.metrics.metrics(), waiting), 1, "the holder keeps exporting");

  await first.state.close();
  const handedOver = [await first.metrics.metrics(), await second.metrics.metrics()];
  assert.deepEqual(
    handedOver.map((text) => sample(text, waiting)),
    [undefined, 1],
  );
  await second.state.close();
});

test("closing once Redis is gone returns at once, without waiting out the deadline: the lease's TTL lets go of it", async (t) => {
  const own = await startRedisServer();
  t.after(() => own.stop());
  // As a connection is late in an outage: its next reconnection seconds away, a command queued till then.
  const lost = createRedisConnection(own.url, "admin");
  lost.options.retryStrategy = () => 10_000;
  lost.on("error", () => undefined);
  t.after(() => lost.disconnect());
  await waitForRedis(lost, 5_000);
  const state = new QueueStateExport(lost, `t-${randomUUID()}`, 1);
  await own.kill();
  await pollUntil("the connection to notice", () => lost.status !== "ready");
  const started = Date.now();
  await state.close();
  assert.ok(Date.now() - started < 1_000, `closed after ${Date.now() - started} ms`);
});

test("closing without release (Redis left the shutdown's QUIT unanswered) leaves the lease to its TTL", async () => {
  const prefix = `t-${randomUUID()}`;
  const [first, second] = [relayProcess(prefix), relayProcess(prefix)];
  const exporter = "pyroscope_relay_queue_state_exporter";
  assert.equal(sample(await first.metrics.metrics(), exporter), 1);
  await first.state.close({ release: false });
  assert.equal(sample(await second.metrics.metrics(), exporter), 0, "the lease is still held: no other process exports yet");
  await second.state.close();
});
