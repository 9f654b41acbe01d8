import type { FlushesAloneFigures } from "./flushes-alone.js";
import type { FloorFigures } from "./payload-floor.js";
import type { DeliveryFigures, DurableFigures, EndToEndFigures, HalfRateFigures, IngestFigures, LoadFigures, RedisFigures } from "./phases.js";
import { PAUSE_NOTED_MS } from "./machine-pauses.js";
import type { FsyncStalls } from "./redis-stats.js";
import { pauseShare, type RuntimeFigures } from "./runtime-metrics.js";

/** A bar of the issue the bench measures: the value it must be at most (`<=`) or at least (`>=`). */
export interface Bar {
  op: "<=" | ">=";
  limit: number;
}

/** A figure of the summary, with the bar it must meet, if any. */
export interface SummaryRow {
  figure: string;
  value: number;
  unit: string;
  bar?: Bar;
  /**
   * On a baseline, the bar of the relay's figure it bounds: a baseline that misses that bar by itself
   * shows that the machine, not the relay, keeps the bar out of reach.
   */
  bounds?: Bar;
  /** The share of the machine's CPU time its hypervisor stole during the phase measured (steal). */
  stolen?: number;
  /** The longest span in which the machine stood still during the phase measured, in ms. */
  pausedMs?: number;
}

export function printBare(load: LoadFigures, when: string): void {
  heading(`1. bare endpoint, ${when} (Node HTTP server: read the body, answer 200)`);
  printLoad(load);
}

/** `bare`: the mean rate of the bare endpoint measured before and after the phase. */
export function printIngest(ingest: IngestFigures, bare: number): void {
  heading("2. ingest only (ingest process, no writer: the backlog waits in Redis)");
  printLoad(ingest.load);
  line("ratio to bare", ratio(ingest.load.acksPerS / bare));
  printRedis(ingest.redis);
  const { before, after, bodySize, payloadBytes, bytesPerPayloadByte } = ingest.memory;
  heading("3. Redis memory while the backlog of phase 2 waits");
  line("used_memory", `${mib(before)} before, ${mib(after)} after: +${mib(after - before)}`);
  line("payload", `${ingest.load.acked} profiles x ${bodySize} B = ${mib(payloadBytes)}`);
  line("per payload byte", `${bytesPerPayloadByte.toFixed(3)} Redis bytes`);
  line("flush", `${ingest.profilesPerFlush.toFixed(1)} profiles per flush`);
}

/** `bare`: the mean rate of the bare endpoint measured before and after the phase. */
export function printEndToEnd(e2e: EndToEndFigures, bare: number): void {
  heading("4. end to end (ingest + writer + stand-in targets, fresh Redis)");
  printLoad(e2e.load);
  printDelivery(e2e.delivery, e2e.load.acked, bare);
  printRedis(e2e.redis);
}

export function printHalfRate(half: HalfRateFigures): void {
  heading(
    half.writer
      ? `5. ack latency at half of the maximum rate (half of the delivered rate of 4; ingest + writer, fresh Redis, paced at ${half.rate.toFixed(0)}/s)`
      : `9. ingest alone, paced as 5 at ${half.rate.toFixed(0)}/s (no writer: the ack path without delivery on the same cores; fresh Redis)`,
  );
  printLoad(half.load);
  printFsyncs(half.fsyncs);
  printRuntime(half.ingest, half.load.seconds);
  printRedis(half.redis);
}

/** `bare`: the bare endpoint's rate, to which the unpaced run is a ratio. */
export function printDurable(durable: DurableFigures, bare: number): void {
  const load = durable.rate === undefined ? "the load of 2" : `paced at ${durable.rate.toFixed(0)}/s as 5`;
  heading(
    `${durable.rate === undefined ? 7 : 8}. durable bare endpoint, ${load} (read the body, SET PX it, answer 200 once Redis replied; fresh Redis, same AOF)`,
  );
  printLoad(durable.load);
  if (durable.rate === undefined) line("ratio to bare", ratio(durable.load.acksPerS / bare));
  printFsyncs(durable.fsyncs);
}

export function printFloor(floor: FloorFigures, alone: FlushesAloneFigures, ingest: IngestFigures, e2e: EndToEndFigures): void {
  heading(`6. payload floor (each body SET PX alone, ${floor.profilesPerFlush} per MULTI as ingest's flushes, fresh Redis, same AOF)`);
  line("redis cpu", `${floor.cpuMicrosPerProfile.toFixed(1)} µs per profile (${floor.profiles} profiles)`);
  line("new memory", newMemory(floor.newMemoryBytesPerProfile, "profile"));
  line("aof rewrites", `${floor.rewriteCpuMicrosPerProfile.toFixed(1)} µs per profile more, in forked children`);
  printStolen(floor.stolen);
  line(
    "flushes alone",
    `${alone.cpuMicrosPerProfile.toFixed(1)} µs, ${alone.commandsPerProfile.toFixed(2)} commands per profile: ingest's flushes of ${alone.profilesPerFlush}, measured as the floor (no HTTP, no other process; fresh Redis)`,
  );
  line("flushes / floor", ratio(alone.cpuMicrosPerProfile / floor.cpuMicrosPerProfile));
  line("ingest-only / floor", ratio(ingest.redis.cpuMicrosPerProfile / floor.cpuMicrosPerProfile));
  line("end-to-end / floor", ratio(e2e.redis.cpuMicrosPerProfile / floor.cpuMicrosPerProfile));
}

export function printSummary(rows: SummaryRow[]): void {
  heading("summary");
  const header = ["figure", "value", "", "bar", "", "host steal, pauses"];
  const cells = rows.map((row) => [
    row.figure,
    format(row.value),
    row.unit,
    row.bar !== undefined ? `${row.bar.op} ${row.bar.limit}` : row.bounds !== undefined ? `(${row.bounds.op} ${row.bounds.limit})` : "",
    row.bar !== undefined ? (meets(row) ? "ok" : "MISSED") : row.bounds !== undefined && !within(row.value, row.bounds) ? "beyond the bar by itself" : "",
    [row.stolen === undefined || Number.isNaN(row.stolen) ? "" : percent(row.stolen), noted(row.pausedMs)].filter((cell) => cell !== "").join(", "),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  for (const cellsOfRow of [header, ...cells]) {
    const padded = cellsOfRow.map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)));
    console.log(`  ${padded.join("  ").trimEnd()}`);
  }
}

/** NaN (e.g. no delivery figure after a timeout) meets no bar. */
export function meets(row: SummaryRow): boolean {
  return row.bar === undefined || within(row.value, row.bar);
}

function within(value: number, { op, limit }: Bar): boolean {
  return op === "<=" ? value <= limit : value >= limit;
}

function printLoad(load: LoadFigures): void {
  line("acks/s", `${load.acksPerS.toFixed(1)}   (${load.acked} x 200 in ${load.seconds.toFixed(2)} s)`);
  line("ack latency", `p50 ${load.p50Ms.toFixed(2)} ms, p99 ${load.p99Ms.toFixed(2)} ms`);
  const failures = Object.entries(load.failures);
  line("not 200", failures.length === 0 ? "none" : failures.map(([status, count]) => `${status}: ${count}`).join(", "));
  if (load.firstFailure !== null) line("first failure", load.firstFailure);
  line("cpu per profile", load.cpu.map(({ process, micros }) => `${process} ${micros.toFixed(0)} µs`).join(", "));
  printStolen(load.stolen);
  line("machine paused", `longest ${load.pausedMs.toFixed(0)} ms (how late the bench's own timer came; a second or more: the machine stood still)`);
  if (load.pausedMs >= PAUSE_NOTED_MS) {
    console.log(
      `  !!! THE MACHINE STOOD STILL FOR ${(load.pausedMs / 1000).toFixed(1)} S (a virtual machine paused by its host?): this phase's figures are not comparable with other runs'`,
    );
  }
  if (load.failedShare > 0.01) {
    console.log(`  !!! ${(load.failedShare * 100).toFixed(1)}% OF THE REQUESTS FAILED: this phase's figures do not show the relay working`);
  }
}

/** A pause long enough to tell in the summary, or nothing. */
function noted(pausedMs: number | undefined): string {
  return pausedMs === undefined || pausedMs < PAUSE_NOTED_MS ? "" : `paused ${(pausedMs / 1000).toFixed(1)} s`;
}

function printStolen(share: number): void {
  line("host steal", Number.isNaN(share) ? "unknown (no /proc/stat)" : `${percent(share)} of the machine's CPU time went to other guests of its hypervisor`);
}

function printFsyncs(fsyncs: FsyncStalls): void {
  line(
    "redis fsyncs",
    fsyncs.longestMs === 0
      ? "none before a reply took 1 ms or more"
      : `longest ${fsyncs.longestMs} ms before a reply; ${fsyncs.secondsOver} second(s) with one over ${fsyncs.overMs} ms (Redis' latency monitor)`,
  );
}

/** `seconds`: the load's duration, against which the pauses are a share. */
function printRuntime(runtime: RuntimeFigures, seconds: number): void {
  line("ingest event loop", `stalls p99 ${runtime.loopStallP99Ms.toFixed(1)} ms, longest ${runtime.loopStallMaxMs.toFixed(1)} ms (its metrics)`);
  line(
    "ingest gc pauses",
    runtime.gc
      .map(
        ({ kind, collections, pauseMs }) =>
          `${kind} ${collections} x, ${pauseMs.toFixed(0)} ms in all (${(100 * pauseShare(pauseMs, seconds)).toFixed(1)}% of the time)`,
      )
      .join("; "),
  );
  line("ingest flushes", `${runtime.flushes}, ${runtime.profilesPerFlush.toFixed(1)} profiles and ${runtime.flushMeanMs.toFixed(2)} ms each on average`);
}

function printDelivery(delivery: DeliveryFigures, acked: number, bare: number): void {
  if (delivery.complete) {
    line("delivered", `every target had all ${acked} profiles ${delivery.seconds.toFixed(2)} s after the load started`);
    line("delivered/s", delivery.deliveredPerS.toFixed(1));
    line("ratio to bare", ratio(delivery.deliveredPerS / bare));
  } else {
    console.log(`  !!! DELIVERY INCOMPLETE after ${delivery.seconds.toFixed(0)} s: profiles are missing at some target`);
  }
  for (const t of delivery.targets) {
    const done = t.seconds === null ? `${t.missing} MISSING` : `all after ${t.seconds.toFixed(2)} s`;
    line(`  target ${t.url}`, `${t.received} distinct profiles in ${t.requests} requests, ${done}`);
    if (t.badBodies > 0) console.log(`  !!! ${t.badBodies} REQUESTS TO ${t.url} DID NOT CARRY THE BENCH'S BODY BYTE FOR BYTE`);
  }
}

function printRedis(redis: RedisFigures): void {
  line("redis commands", `${redis.commandsPerProfile.toFixed(2)} per acknowledged profile`);
  line("redis cpu", `${redis.cpuMicrosPerProfile.toFixed(1)} µs per acknowledged profile`);
  line("aof rewrites", `${redis.rewriteCpuMicrosPerProfile.toFixed(1)} µs per acknowledged profile more, in forked children`);
  line("new memory", newMemory(redis.newMemoryBytesPerProfile, "acknowledged profile"));
  line(
    "redis traffic",
    `${(redis.netInputBytesPerProfile / 1024).toFixed(1)} KiB in, ${(redis.netOutputBytesPerProfile / 1024).toFixed(1)} KiB out per acknowledged profile`,
  );
  if (redis.cpuShares.length > 1) {
    line("cpu by master", redis.cpuShares.map(({ node, share }) => `${node.replace(/^master /, "")} ${(share * 100).toFixed(0)}%`).join(", "));
  }
  line("top commands", "calls/profile   µs/profile");
  for (const c of redis.top) {
    console.log(`    ${c.command.padEnd(20)}${c.callsPerProfile.toFixed(3).padStart(12)}${c.usecPerProfile.toFixed(2).padStart(13)}`);
  }
}

/** Redis' peak resident memory growth per profile, the memory it touched for the first time. */
function newMemory(bytesPerProfile: number, per: string): string {
  if (Number.isNaN(bytesPerProfile)) return "n/a (no /proc/<pid>/status for Redis)";
  return `${(bytesPerProfile / 1024).toFixed(1)} KiB per ${per} (the growth of Redis' peak resident memory: at least what it touched for the first time)`;
}

function heading(text: string): void {
  console.log(`\n== ${text}`);
}

function line(label: string, text: string): void {
  console.log(`  ${label.padEnd(20)} ${text}`);
}

function ratio(value: number): string {
  return value.toFixed(3);
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function format(value: number): string {
  if (Number.isNaN(value)) return "n/a";
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(Math.abs(value) >= 10 ? 1 : 3);
}
