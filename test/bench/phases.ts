import { setTimeout as sleep } from "node:timers/promises";
import { startChild } from "./child-process.js";
import type { RedisPersistence } from "./options.js";
import { ProcessCpu, type MeteredProcess } from "./process-cpu.js";
import type { FsyncStalls, RedisDelta } from "./redis-stats.js";
import { startBenchRedis, startStage } from "./relay.js";
import { RuntimeProbe, type RuntimeFigures } from "./runtime-metrics.js";
import type { TargetCounts, Targets } from "./targets.js";
import { unpacedProfiles } from "./settle-memory.js";
import { runWrk, type WrkResult } from "./wrk.js";

/** What every phase shares. */
export interface BenchContext {
  connections: number;
  durationS: number;
  bodyFile: string;
  bodySize: number;
  persistence: RedisPersistence;
  cluster: boolean;
  queueShards: number;
  targets: Targets;
  /** Right before a load that may store `profiles`: settles the memory they will take (see settleMemory). */
  settle(profiles: number): void;
}

export interface LoadFigures {
  /** 200s per second of load: acknowledged profiles. */
  acksPerS: number;
  acked: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers that were not 200, by status, plus `socket errors` (no answer at all). */
  failures: Record<string, number>;
  /** Share of the requests that did not get a 200. */
  failedShare: number;
  firstFailure: string | null;
  /** CPU per acknowledged profile of the processes under test (Redis apart: see RedisFigures). */
  cpu: { process: string; micros: number }[];
  /** The share of the machine's CPU time its hypervisor took meanwhile (steal; NaN if unknown). */
  stolen: number;
  /** The longest span in which the whole machine stood still meanwhile, in ms (see MachinePauses). */
  pausedMs: number;
}

export interface RedisFigures {
  commandsPerProfile: number;
  cpuMicrosPerProfile: number;
  /** CPU of Redis' AOF rewrites (forked children) per profile: on the Redis host, but not in `cpuMicrosPerProfile`. */
  rewriteCpuMicrosPerProfile: number;
  /** Bytes sent to Redis and read from it per profile: a count that the machine's speed does not move. */
  netInputBytesPerProfile: number;
  netOutputBytesPerProfile: number;
  /**
   * How much Redis' peak resident memory grew per profile: memory it touched for the first time, each
   * KiB at the machine's first-touch price (NaN if unknown). A lower bound: memory Redis gave back
   * and touched again within the phase is not counted.
   */
  newMemoryBytesPerProfile: number;
  /** Each probed node's share of the Redis CPU (one entry on one Redis, a master each on a cluster). */
  cpuShares: { node: string; share: number }[];
  top: { command: string; callsPerProfile: number; usecPerProfile: number }[];
}

export interface IngestFigures {
  load: LoadFigures;
  redis: RedisFigures;
  memory: { before: number; after: number; bodySize: number; payloadBytes: number; bytesPerPayloadByte: number };
  /** Acknowledged profiles per flush (a MULTI on one Redis; on a cluster, one for the batch and one per target). */
  profilesPerFlush: number;
}

export interface DeliveryFigures {
  /** Every target had every acknowledged profile before the timeout. */
  complete: boolean;
  /** From the start of the load until the last target had them all (or the timeout). */
  seconds: number;
  deliveredPerS: number;
  targets: { url: string; requests: number; received: number; missing: number; badBodies: number; seconds: number | null }[];
}

export interface EndToEndFigures {
  load: LoadFigures;
  delivery: DeliveryFigures;
  redis: RedisFigures;
}

export interface HalfRateFigures {
  rate: number;
  /** Whether the writer delivered meanwhile, on the same cores. */
  writer: boolean;
  load: LoadFigures;
  /** Ingest's event loop, garbage collection and flushes meanwhile. */
  ingest: RuntimeFigures;
  /** Ingest's, and the writer's when it runs, per acknowledged profile. */
  redis: RedisFigures;
  /** Redis' fsyncs meanwhile: every ack waits for one. */
  fsyncs: FsyncStalls;
}

/** The durable bare endpoint under one load: unpaced, or paced at a rate. */
export interface DurableFigures {
  rate?: number;
  load: LoadFigures;
  fsyncs: FsyncStalls;
}

/** The bar on the ack p99 at half rate: fsyncs longer than this hold acks past it. */
export const ACK_P99_BAR_MS = 25;

/** 1. The baseline: the bare endpoint under the same load. */
export async function bareEndpoint(ctx: BenchContext, endpoint: { url: string; pid: number }): Promise<LoadFigures> {
  const cpu = new ProcessCpu([{ name: "bare endpoint", pid: endpoint.pid }]);
  return loadFigures(await runWrk({ ...load(ctx), url: endpoint.url, tag: "bare" }), cpu);
}

/** 2 and 3. Only `ingest`: every acknowledged profile waits in Redis, so its memory can be read. */
export async function ingestOnly(ctx: BenchContext): Promise<IngestFigures> {
  const stage = await startStage({ targetUrls: ctx.targets.urls, writer: false, ...ctx });
  try {
    ctx.settle(unpacedProfiles(ctx.durationS));
    const before = await stage.probe.snapshot();
    const cpu = new ProcessCpu(stage.processes);
    const wrk = await runWrk({ ...load(ctx), url: stage.url, tag: "ingest" });
    // Requests still in flight when wrk stopped finish within milliseconds; then Redis holds still.
    await sleep(1_000);
    const after = await stage.probe.snapshot();
    const acked = wrk.ok;
    const payloadBytes = acked * ctx.bodySize;
    const delta = stage.probe.delta(before, after);
    const multis = delta.commands.find((c) => c.command === "exec")?.calls ?? 0;
    const flushes = ctx.cluster ? multis / (1 + ctx.targets.urls.length) : multis;
    return {
      load: loadFigures(wrk, cpu),
      redis: redisFigures(delta, acked),
      profilesPerFlush: flushes === 0 ? Number.NaN : acked / flushes,
      memory: {
        before: before.usedMemory,
        after: after.usedMemory,
        bodySize: ctx.bodySize,
        payloadBytes,
        bytesPerPayloadByte: (after.usedMemory - before.usedMemory) / payloadBytes,
      },
    };
  } finally {
    await stage.stop();
  }
}

/**
 * 4. `ingest`, `writer` and the targets, on a fresh Redis: load for the duration, then wait until
 * every target has as many distinct profiles as were acknowledged (extra ones, stored while wrk
 * hung up, may arrive too; the ids are counted, not matched).
 */
export async function endToEnd(ctx: BenchContext, drainTimeoutMs: number): Promise<EndToEndFigures> {
  const stage = await startStage({ targetUrls: ctx.targets.urls, writer: true, ...ctx });
  try {
    const baseline = await ctx.targets.counts();
    ctx.settle(unpacedProfiles(ctx.durationS));
    const before = await stage.probe.snapshot();
    const cpu = new ProcessCpu(withTargets(stage.processes, ctx.targets));
    const startedAt = Date.now();
    const wrk = await runWrk({ ...load(ctx), url: stage.url, tag: "e2e" });
    const thresholds = baseline.map((t) => t.distinct + wrk.ok);
    const { counts, complete } = await waitForTargets(ctx.targets, thresholds, startedAt + drainTimeoutMs);
    const after = await stage.probe.snapshot();
    const finishedAt = complete ? Math.max(...counts.map((t) => t.reachedAt!)) : Date.now();
    const seconds = (finishedAt - startedAt) / 1000;
    return {
      // Until every target had every profile: the writer's and the targets' CPU included.
      load: loadFigures(wrk, cpu),
      delivery: {
        complete,
        seconds,
        deliveredPerS: complete ? wrk.ok / seconds : Number.NaN,
        targets: counts.map((t, i) => {
          const received = t.distinct - baseline[i]!.distinct;
          return {
            url: t.url,
            requests: t.requests - baseline[i]!.requests,
            received,
            missing: Math.max(0, wrk.ok - received),
            badBodies: t.badBodies - baseline[i]!.badBodies,
            seconds: t.reachedAt === null ? null : (t.reachedAt - startedAt) / 1000,
          };
        }),
      },
      redis: redisFigures(stage.probe.delta(before, after), wrk.ok),
    };
  } finally {
    await stage.stop();
  }
}

/**
 * 5. Ack latency with `ingest` and `writer` running, wrk paced at `rate` requests per second; 9. the
 * same without `writer`: the relay's own ack path, without delivery competing for the cores.
 */
export async function halfRate(ctx: BenchContext, rate: number, { writer }: { writer: boolean }): Promise<HalfRateFigures> {
  const stage = await startStage({ targetUrls: ctx.targets.urls, writer, ...ctx });
  try {
    ctx.settle(Math.ceil(rate * ctx.durationS));
    const before = await stage.probe.snapshot();
    const cpu = new ProcessCpu(writer ? withTargets(stage.processes, ctx.targets) : stage.processes);
    const runtime = new RuntimeProbe(stage.ingestOpsUrl);
    await runtime.start();
    const startedAt = Date.now();
    const wrk = await runWrk({ ...load(ctx), url: stage.url, tag: writer ? "half" : "half-ingest", rate });
    const ingest = await runtime.read();
    // The writer keeps up at this rate: a second more and it has delivered what was acknowledged.
    if (writer) await sleep(1_000);
    const after = await stage.probe.snapshot();
    return {
      rate,
      writer,
      load: loadFigures(wrk, cpu),
      ingest,
      redis: redisFigures(stage.probe.delta(before, after), wrk.ok),
      fsyncs: await stage.probe.fsyncStalls(startedAt, ACK_P99_BAR_MS),
    };
  } finally {
    await stage.stop();
  }
}

/**
 * 7 and 8. The durable baseline: the bare endpoint storing each body in a fresh Redis of the bench's
 * settings before its 200, unpaced (`rate` undefined) or paced. What no receiver that acknowledges
 * only stored profiles can beat on this machine, the relay included.
 */
export async function durableBaseline(ctx: BenchContext, rate?: number): Promise<DurableFigures> {
  const redis = await startBenchRedis(ctx.persistence);
  try {
    const endpoint = await startChild<{ port: number }>("bare-endpoint-process.ts", [redis.redis.socketPath]);
    try {
      ctx.settle(rate === undefined ? unpacedProfiles(ctx.durationS) : Math.ceil(rate * ctx.durationS));
      const cpu = new ProcessCpu([{ name: "durable endpoint", pid: endpoint.pid }]);
      const startedAt = Date.now();
      const wrk = await runWrk({ ...load(ctx), url: `http://127.0.0.1:${endpoint.ready.port}`, tag: "durable", ...(rate === undefined ? {} : { rate }) });
      return { ...(rate === undefined ? {} : { rate }), load: loadFigures(wrk, cpu), fsyncs: await redis.probe.fsyncStalls(startedAt, ACK_P99_BAR_MS) };
    } finally {
      await endpoint.stop();
    }
  } finally {
    await redis.stop();
  }
}

function load(ctx: BenchContext): { connections: number; durationS: number; bodyFile: string } {
  return { connections: ctx.connections, durationS: ctx.durationS, bodyFile: ctx.bodyFile };
}

/** Polls the targets until each has reached its threshold or `deadline` passed; progress on stderr. */
async function waitForTargets(targets: Targets, thresholds: number[], deadline: number): Promise<{ counts: TargetCounts[]; complete: boolean }> {
  let nextProgress = Date.now() + 10_000;
  for (;;) {
    const counts = await targets.counts(thresholds);
    const complete = counts.every((t) => t.reachedAt !== null);
    if (complete || Date.now() >= deadline) return { counts, complete };
    if (Date.now() >= nextProgress) {
      nextProgress += 10_000;
      console.error(`  ... still delivering: ${counts.map((t, i) => `${t.distinct}/${thresholds[i]}`).join(", ")} distinct profiles per target`);
    }
    await sleep(100);
  }
}

/** The relay's processes and the stand-in targets' one. */
function withTargets(processes: MeteredProcess[], targets: Targets): MeteredProcess[] {
  return [...processes, { name: "targets", pid: targets.pid }];
}

function loadFigures(wrk: WrkResult, cpu: ProcessCpu): LoadFigures {
  // Every later figure is per acknowledged profile or a ratio of acks: none would mean anything.
  if (wrk.ok === 0) {
    throw new Error(`not one 200: ${JSON.stringify(wrk.statuses)}, ${wrk.socketErrors} socket errors; first failure: ${wrk.firstFailure}`);
  }
  const failures: Record<string, number> = {};
  for (const [status, count] of Object.entries(wrk.statuses)) if (status !== "200") failures[status] = count;
  if (wrk.socketErrors > 0) failures["socket errors"] = wrk.socketErrors;
  const attempts = wrk.completed + wrk.socketErrors;
  return {
    acksPerS: wrk.ok / wrk.seconds,
    acked: wrk.ok,
    seconds: wrk.seconds,
    p50Ms: wrk.p50Ms,
    p99Ms: wrk.p99Ms,
    failures,
    failedShare: attempts === 0 ? 0 : (attempts - wrk.ok) / attempts,
    firstFailure: wrk.firstFailure,
    cpu: cpu.perProfile(wrk.ok),
    stolen: cpu.stolenShare(),
    pausedMs: cpu.longestPauseMs(),
  };
}

function redisFigures(delta: RedisDelta, profiles: number): RedisFigures {
  return {
    commandsPerProfile: delta.calls / profiles,
    cpuMicrosPerProfile: delta.cpuMicros / profiles,
    rewriteCpuMicrosPerProfile: delta.childCpuMicros / profiles,
    netInputBytesPerProfile: delta.netInputBytes / profiles,
    netOutputBytesPerProfile: delta.netOutputBytes / profiles,
    newMemoryBytesPerProfile: delta.newMemoryBytes / profiles,
    cpuShares: delta.cpuMicrosByNode.map(({ node, micros }) => ({ node, share: micros / delta.cpuMicros })),
    top: delta.commands.slice(0, 10).map((c) => ({
      command: c.command,
      callsPerProfile: c.calls / profiles,
      usecPerProfile: c.usec / profiles,
    })),
  };
}
