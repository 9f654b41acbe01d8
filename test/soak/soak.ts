// Steady load against the built relay for a while, then a comparison of its vital signs at the start
// and at the end: flat means healthy, a ratio that keeps growing with the duration means a leak.
//   npm run soak -- --duration 60s --rate 20      (from test/, after `npm run build` at the root)
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { startFakeTarget, startRedisServer, freePort } from "@pyroscope-relay/testing";
import { deliveryReport, waitForDelivery } from "../faults/support/check.js";
import { ledgerFor } from "../faults/support/ledger.js";
import { LoadGenerator } from "../faults/support/load.js";
import { relayConfig, startRelay } from "../faults/support/relay.js";

interface Sample {
  redisUsedMemory: number;
  heapUsed: number;
  eventLoopLagP99: number;
}

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "60s" },
    rate: { type: "string", default: "20" },
  },
});
const durationMs = parseDuration(values.duration);
const rate = Number(values.rate);
if (!(rate > 0 && rate <= 1000)) throw new Error(`--rate: expected profiles per second in (0, 1000], got ${values.rate}`);
// The start sample is taken once the process is warm (JIT, pools, first BullMQ scripts loaded).
const warmupMs = Math.min(10_000, Math.round(durationMs / 6));

const redis = await startRedisServer({ appendonly: true, appendfsync: "everysec" });
const target = await startFakeTarget();
const port = await freePort();
const relay = await startRelay("run", relayConfig({ port, targets: [{ name: "a", url: target.url }] }), redis, ["--log.level=warn"]);
const client = new Redis({ path: redis.socketPath });
let exitCode = 0;
try {
  const ledgers = [ledgerFor("a", target)];
  const load = new LoadGenerator({ url: `http://127.0.0.1:${port}`, tag: "soak" });
  console.log(`soak: ${rate} profiles/s for ${durationMs / 1000} s (start sample after ${warmupMs / 1000} s)`);
  const steady = load.steady(rate);
  await sleep(warmupMs);
  const start = await sample(relay.opsUrl, client);
  // Sampling takes about 2 s of the duration each time.
  await sleep(Math.max(0, durationMs - warmupMs - 4_000));
  const end = await sample(relay.opsUrl, client);
  await steady.stop();
  const { report, drainMs } = await waitForDelivery(load, ledgers, 30_000);
  const delivered = report.targets[0]!;

  console.log(`sent ${report.sent}, acknowledged ${report.acknowledged}, statuses ${JSON.stringify(report.statuses)}`);
  console.log(`delivered ${delivered.delivered}, missing ${delivered.missing.length}, duplicates ${delivered.duplicates}, drained in ${drainMs} ms`);
  console.table({
    "redis used_memory (MiB)": row(start.redisUsedMemory / 2 ** 20, end.redisUsedMemory / 2 ** 20),
    "relay heap used (MiB)": row(start.heapUsed / 2 ** 20, end.heapUsed / 2 ** 20),
    "event-loop lag p99 (ms)": row(start.eventLoopLagP99 * 1000, end.eventLoopLagP99 * 1000),
  });
  if (delivered.missing.length > 0 || deliveryReport(load, ledgers).acknowledged === 0) exitCode = 1;
} finally {
  client.disconnect();
  await relay.stop();
  await target.close();
  await redis.stop();
}
process.exit(exitCode);

/** Three readings 1 s apart; the lowest heap of them, since a single one mostly shows where GC happens to be. */
async function sample(opsUrl: string, redisClient: Redis): Promise<Sample> {
  const readings: Sample[] = [];
  for (let i = 0; i < 3; i++) {
    if (i > 0) await sleep(1_000);
    const metrics = await (await fetch(`${opsUrl}/metrics`)).text();
    const info = await redisClient.info("memory");
    readings.push({
      redisUsedMemory: Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN),
      heapUsed: metric(metrics, "nodejs_heap_size_used_bytes"),
      eventLoopLagP99: metric(metrics, "nodejs_eventloop_lag_p99_seconds"),
    });
  }
  return {
    redisUsedMemory: readings.at(-1)!.redisUsedMemory,
    heapUsed: Math.min(...readings.map((r) => r.heapUsed)),
    eventLoopLagP99: Math.max(...readings.map((r) => r.eventLoopLagP99)),
  };
}

function metric(text: string, name: string): number {
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, "m").exec(text)?.[1] ?? Number.NaN);
}

function row(start: number, end: number): { start: string; end: string; "end/start": string } {
  return { start: start.toFixed(2), end: end.toFixed(2), "end/start": (end / start).toFixed(2) };
}

function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (match === null) throw new Error(`--duration: expected e.g. 60s, 5m, 1h, got ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(match[2] ?? "s") as "ms" | "s" | "m" | "h"];
  const ms = Number(match[1]) * unit;
  if (ms < 5_000) throw new Error("--duration: at least 5s");
  return ms;
}
