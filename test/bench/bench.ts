// Throughput, ack latency and Redis cost per profile of the built relay, next to a bare Node HTTP
// endpoint on the same machine under the same load (wrk, in its own process):
//   npm run bench -- [--duration 10s] [--targets 2] [--body-size 10KiB] [--connections 32] [--appendfsync always] [--aof-rewrite-min-size 1GiB] [--cluster] [--queue-shards N] [--memory settled] [--json]
// 1. bare endpoint (before 2, between 2 and 4, after 4); 2. ingest only; 3. Redis memory of the backlog of 2; 4. end to end; 5. ack
// latency at half of the maximum rate the relay sustains (the delivered rate of 4: paced any faster,
// ingest outruns the writer and the backlog grows without end); 6. the payload floor: Redis CPU to
// store the bodies alone, the baseline of the Redis CPU figures, and beside it ingest's flushes
// measured alike, without HTTP or other processes (one Redis only); 7 and 8. the durable
// baseline: the bare endpoint storing each body in Redis (SET PX) before its 200, under the load of 2
// and paced as 5, the most and the fastest any receiver acknowledging stored profiles gets from
// this machine, Redis' fsyncs counted in 5, 7, 8 and 9 (one Redis only); 9. ingest alone paced as
// 5: the relay's ack path without the writer's delivery on the same cores (5 and 9 print ingest's
// event loop stalls, GC pauses and flushes from its metrics). Then a summary of the figures against
// the bars they should meet, and of the baselines against the bars they bound. With --cluster every
// phase runs on a fresh local cluster (3 masters, a replica each) and the Redis figures add up its
// masters, with each one's share.
// Exits 1 when figures cannot be trusted (over 1% of the requests of a phase failed, a profile
// missing at a target, a body altered on the way), 2 on a bad command line or without wrk. A missed
// bar is reported, not an exit status: the figures are for comparing versions.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { startChild } from "./child-process.js";
import { parseOptions, usage, UsageError, type BenchOptions } from "./options.js";
import {
  ACK_P99_BAR_MS,
  bareEndpoint,
  durableBaseline,
  endToEnd,
  halfRate,
  ingestOnly,
  type BenchContext,
  type HalfRateFigures,
  type LoadFigures,
} from "./phases.js";
import { pauseShare } from "./runtime-metrics.js";
import { firstTouchMicrosPerKiB } from "./first-touch.js";
import { flushesAlone } from "./flushes-alone.js";
import { payloadFloor } from "./payload-floor.js";
import { bytesPerProfile, settleMemory } from "./settle-memory.js";
import { meets, printBare, printDurable, printEndToEnd, printFloor, printHalfRate, printIngest, printSummary, type Bar, type SummaryRow } from "./report.js";
import { startTargets } from "./targets.js";
import { stopAll, track } from "./teardown.js";
import { checkWrk, WrkMissingError } from "./wrk.js";

let options: BenchOptions;
try {
  options = parseOptions(process.argv.slice(2));
  checkWrk();
} catch (error) {
  if (!(error instanceof UsageError || error instanceof WrkMissingError)) throw error;
  console.error(`bench: ${error.message}`);
  if (error instanceof UsageError) console.error(usage);
  process.exit(2);
}

// Ctrl-C: stop every process now; the phase under way then fails, and the bench exits 130.
let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`bench: ${signal}, stopping`);
    // The phase fails at once in every case seen; the timer is for one that would not.
    void stopAll().finally(() => setTimeout(() => process.exit(130), 5_000));
  });
}

let exitCode = 0;
try {
  exitCode = await bench(options);
} catch (error) {
  if (!interrupted) console.error(`bench: ${(error as Error).stack}`);
  exitCode = 1;
} finally {
  await stopAll();
}
process.exit(interrupted ? 130 : exitCode);

/** Runs the phases and prints them; 1 when a figure cannot be trusted (failures, lost profiles). */
async function bench(options: BenchOptions): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "relay-bench-"));
  track(() => rm(dir, { recursive: true, force: true }));
  // Random bytes do not compress, as real (gzipped) profiles do not: no layer gets a discount on them.
  const body = randomBytes(options.bodySize);
  const bodyFile = join(dir, "body.bin");
  await writeFile(bodyFile, body);
  const targets = await startTargets(options.targets, bodyFile);
  const settled: { bytes: number; ms: number }[] = [];
  const settle = (profiles: number) => {
    if (options.memory === "settled") settled.push(settleMemory(profiles * bytesPerProfile(options.bodySize)));
  };
  const ctx: BenchContext = { ...options, bodyFile, targets, settle };
  console.log(
    `bench: Node ${process.version}, ${availableParallelism()} cores, wrk with ${options.connections} connections, ` +
      `${options.durationS} s per phase, ${options.bodySize}-byte bodies, ${options.targets} target(s), appendfsync ${options.persistence.appendfsync}, ` +
      `auto-aof-rewrite-min-size ${options.persistence.aofRewriteMinSize / 2 ** 20} MiB, ` +
      `${options.cluster ? "Redis Cluster of 3 masters + 3 replicas (--redis.min-replicas 1)" : "one Redis"}, ${options.queueShards} queue shard(s) per target`,
  );

  // Redis pays it for every KiB its memory grows: on a virtual machine it can be most of a profile's cost.
  const firstTouch = firstTouchMicrosPerKiB();
  console.log(
    `bench: first touch of memory on this machine: ${firstTouch.toFixed(2)} µs of CPU per KiB (a page fault, its zeroing, and on a VM its backing by the host)`,
  );
  console.log(
    options.memory === "settled"
      ? "bench: memory settled: right before each load, a child touches and frees what the load may grow into, so that Redis' growth does not pay the host for pages it took back (--memory cold to measure without)"
      : "bench: memory cold: each load grows into the machine's free memory as it finds it (--memory settled to touch it first)",
  );

  // The machine's speed drifts over a run (it is shared): the baseline is measured right before and
  // right after each relay phase, and each ratio is to the mean of the two.
  const endpoint = await startChild<{ port: number }>("bare-endpoint-process.ts", []);
  const bareRun = async (when: string) => {
    const load = await bareEndpoint(ctx, { url: `http://127.0.0.1:${endpoint.ready.port}`, pid: endpoint.pid });
    printBare(load, when);
    return load;
  };
  const bareBefore = await bareRun("before 2");
  const ingest = await ingestOnly(ctx);
  const bareBetween = await bareRun("after 2, before 4");
  const ingestBaseline = meanRate(bareBefore, bareBetween);
  printIngest(ingest, ingestBaseline);

  const e2e = await endToEnd(ctx, Math.max(60_000, 30_000 * options.durationS));
  const bareAfter = await bareRun("after 4");
  await endpoint.stop();
  const e2eBaseline = meanRate(bareBetween, bareAfter);
  printEndToEnd(e2e, e2eBaseline);

  const half = await halfRate(ctx, e2e.delivery.deliveredPerS / 2, { writer: true });
  printHalfRate(half);

  // As many profiles as ingest stored, at most a number that takes a few seconds at the floor. One
  // MULTI of plain SETs has no counterpart on a cluster, where a flush is a MULTI per slot.
  const floorProfiles = Math.min(ingest.load.acked, 20_000);
  const floorFlush = Math.max(1, Math.round(ingest.profilesPerFlush || 1));
  const floor = options.cluster ? undefined : await payloadFloor(body, floorProfiles, floorFlush, options.persistence, settle);
  const alone = options.cluster ? undefined : await flushesAlone(body, floorProfiles, floorFlush, options.targets, options.persistence, settle);
  if (floor !== undefined && alone !== undefined) printFloor(floor, alone, ingest, e2e);

  // What the disk allows any receiver that acknowledges stored profiles: the ratios and the latency
  // bar above against the same machine's durable minimum. One Redis, like the floor.
  const durable = options.cluster ? undefined : await durableBaseline(ctx);
  if (durable !== undefined) printDurable(durable, ingestBaseline);
  const durableHalf = options.cluster ? undefined : await durableBaseline(ctx, half.rate);
  if (durableHalf !== undefined) printDurable(durableHalf, ingestBaseline);
  const halfAlone = await halfRate(ctx, half.rate, { writer: false });
  printHalfRate(halfAlone);

  const bars = {
    ingest: { op: ">=", limit: 0.25 },
    endToEnd: { op: ">=", limit: 0.1 },
    redisCommands: { op: "<=", limit: 15 },
    redisCpu: { op: "<=", limit: 60 },
    bytes: { op: "<=", limit: 1.1 },
    ackP99: { op: "<=", limit: ACK_P99_BAR_MS },
  } as const satisfies Record<string, Bar>;
  const rows: SummaryRow[] = [
    { figure: "first touch of memory per KiB", value: firstTouch, unit: "µs" },
    ...(settled.length === 0
      ? []
      : [{ figure: "memory settled before a load", value: settled.reduce((sum, s) => sum + s.bytes, 0) / settled.length / 2 ** 30, unit: "GiB" }]),
    { figure: "bare endpoint acks/s (around 2)", value: ingestBaseline, unit: "/s" },
    { figure: "bare endpoint CPU/request (before 2)", value: cpuOf(bareBefore, "bare endpoint"), unit: "µs" },
    ...during(ingest.load, [
      { figure: "ingest-only acks/s", value: ingest.load.acksPerS, unit: "/s" },
      { figure: "ingest-only ingest CPU/profile", value: cpuOf(ingest.load, "ingest"), unit: "µs" },
      { figure: "ingest-only / bare", value: ingest.load.acksPerS / ingestBaseline, unit: "", bar: bars.ingest },
      { figure: "ingest-only Redis commands/profile", value: ingest.redis.commandsPerProfile, unit: "" },
      { figure: "ingest-only Redis CPU/profile", value: ingest.redis.cpuMicrosPerProfile, unit: "µs" },
      { figure: "ingest-only Redis new memory/profile", value: ingest.redis.newMemoryBytesPerProfile / 1024, unit: "KiB" },
      { figure: "backlog Redis bytes/payload byte", value: ingest.memory.bytesPerPayloadByte, unit: "", bar: bars.bytes },
    ]),
    { figure: "bare endpoint acks/s (around 4)", value: e2eBaseline, unit: "/s" },
    ...during(e2e.load, [
      { figure: "end-to-end delivered/s", value: e2e.delivery.deliveredPerS, unit: "/s" },
      { figure: "end-to-end ingest CPU/profile", value: cpuOf(e2e.load, "ingest"), unit: "µs" },
      { figure: "end-to-end writer CPU/profile", value: cpuOf(e2e.load, "writer"), unit: "µs" },
      { figure: "end-to-end targets CPU/profile", value: cpuOf(e2e.load, "targets"), unit: "µs" },
      { figure: "end-to-end / bare", value: e2e.delivery.deliveredPerS / e2eBaseline, unit: "", bar: bars.endToEnd },
      { figure: "end-to-end Redis commands/profile", value: e2e.redis.commandsPerProfile, unit: "", bar: bars.redisCommands },
      { figure: "end-to-end Redis CPU/profile", value: e2e.redis.cpuMicrosPerProfile, unit: "µs", bar: bars.redisCpu },
      { figure: "end-to-end Redis new memory/profile", value: e2e.redis.newMemoryBytesPerProfile / 1024, unit: "KiB" },
    ]),
    ...(floor === undefined || alone === undefined
      ? during(e2e.load, [
          {
            figure: "end-to-end busiest master's share of Redis CPU",
            value: Math.max(...e2e.redis.cpuShares.map((s) => s.share)),
            unit: "",
            bar: { op: "<=", limit: 0.5 },
          },
        ])
      : [
          ...during(floor, [
            { figure: "payload floor Redis CPU/profile", value: floor.cpuMicrosPerProfile, unit: "µs", bounds: bars.redisCpu },
            { figure: "payload floor Redis new memory/profile", value: floor.newMemoryBytesPerProfile / 1024, unit: "KiB" },
          ]),
          { figure: "ingest's flushes alone / floor", value: alone.cpuMicrosPerProfile / floor.cpuMicrosPerProfile, unit: "" },
          { figure: "end-to-end Redis CPU / floor", value: e2e.redis.cpuMicrosPerProfile / floor.cpuMicrosPerProfile, unit: "" },
        ]),
    ...during(e2e.load, [{ figure: "end-to-end ack p99", value: e2e.load.p99Ms, unit: "ms" }]),
    ...during(half.load, [
      { figure: "half-rate achieved", value: half.load.acksPerS, unit: "/s" },
      { figure: "half-rate ack p50", value: half.load.p50Ms, unit: "ms" },
      { figure: "half-rate ack p99", value: half.load.p99Ms, unit: "ms", bar: bars.ackP99 },
      { figure: "half-rate longest Redis fsync", value: half.fsyncs.longestMs, unit: "ms" },
      { figure: "half-rate ingest loop stall p99", value: half.ingest.loopStallP99Ms, unit: "ms" },
      { figure: "half-rate ingest gc pause share", value: gcShare(half), unit: "" },
    ]),
    ...during(halfAlone.load, [
      { figure: "ingest alone half-rate ack p99", value: halfAlone.load.p99Ms, unit: "ms" },
      { figure: "ingest alone longest Redis fsync", value: halfAlone.fsyncs.longestMs, unit: "ms" },
      { figure: "ingest alone loop stall p99", value: halfAlone.ingest.loopStallP99Ms, unit: "ms" },
      { figure: "ingest alone gc pause share", value: gcShare(halfAlone), unit: "" },
    ]),
    ...(durable === undefined || durableHalf === undefined
      ? []
      : [
          ...during(durable.load, [
            { figure: "durable bare endpoint acks/s", value: durable.load.acksPerS, unit: "/s" },
            { figure: "durable bare / bare", value: durable.load.acksPerS / ingestBaseline, unit: "", bounds: bars.ingest },
            { figure: "durable bare CPU/request", value: cpuOf(durable.load, "durable endpoint"), unit: "µs" },
          ]),
          { figure: "ingest-only / durable bare", value: ingest.load.acksPerS / durable.load.acksPerS, unit: "" },
          ...during(durableHalf.load, [
            { figure: "durable bare half-rate ack p99", value: durableHalf.load.p99Ms, unit: "ms", bounds: bars.ackP99 },
            { figure: "durable bare longest Redis fsync", value: durableHalf.fsyncs.longestMs, unit: "ms" },
          ]),
        ]),
  ];
  printSummary(rows);
  if (options.json) {
    const summary = rows.map((row) => ({ ...row, ok: meets(row) }));
    console.log(
      JSON.stringify({
        options,
        firstTouchMicrosPerKiB: firstTouch,
        settled,
        bare: [bareBefore, bareBetween, bareAfter],
        ingest,
        endToEnd: e2e,
        halfRate: half,
        floor,
        flushesAlone: alone,
        durable,
        durableHalf,
        halfAlone,
        summary,
      }),
    );
  }

  const loads = [bareBefore, bareBetween, bareAfter, ingest.load, e2e.load, half.load, durable?.load, durableHalf?.load, halfAlone.load];
  const failing = loads.some((load) => load !== undefined && load.failedShare > 0.01);
  const lost = !e2e.delivery.complete || e2e.delivery.targets.some((t) => t.badBodies > 0);
  return failing || lost ? 1 : 0;
}

/** Figures of one phase, each with the share of the machine's CPU time stolen during it and the longest pause of the machine. */
function during(phase: { stolen: number; pausedMs?: number }, rows: SummaryRow[]): SummaryRow[] {
  return rows.map((row) => ({ ...row, stolen: phase.stolen, pausedMs: phase.pausedMs }));
}

/** The CPU per profile of one of a load's processes. */
function cpuOf(load: LoadFigures, process: string): number {
  return load.cpu.find((entry) => entry.process === process)?.micros ?? Number.NaN;
}

/** The share of a paced load's time ingest spent paused for garbage collection. */
function gcShare(half: HalfRateFigures): number {
  return pauseShare(
    half.ingest.gc.reduce((sum, { pauseMs }) => sum + pauseMs, 0),
    half.load.seconds,
  );
}

/** The mean rate of two baseline runs. */
function meanRate(a: LoadFigures, b: LoadFigures): number {
  return (a.acksPerS + b.acksPerS) / 2;
}
