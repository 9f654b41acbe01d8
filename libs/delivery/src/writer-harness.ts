// Test support for the writer's integration specs (not exported from the package): a real
// redis-server per spec file, and per test a prefix of its own with an Enqueuer on the producer side
// and a writer on the worker side, both closed when the test ends.
import { randomUUID } from "node:crypto";
import { after, type TestContext } from "node:test";
import type { TargetConfig } from "@pyroscope-relay/config";
import { createLogger, RelayMetrics } from "@pyroscope-relay/ops";
import {
  batchClaimsKey,
  chunkKey,
  createRedisConnection,
  Enqueuer,
  targetQueue,
  waitForRedis,
  type FlushBounds,
  type ProfileFacts,
  type TargetQueue,
} from "@pyroscope-relay/queue";
import { pollUntil, startRedisServer, type FakeTarget, type Probe } from "@pyroscope-relay/testing";
import type { Redis } from "ioredis";
import { startWriter, type Writer, type WriterOptions } from "./writer.js";

export const ingestData = (overrides: Partial<Extract<ProfileFacts, { kind: "ingest" }>> = {}): ProfileFacts => ({
  kind: "ingest",
  receivedAt: Date.now(),
  query: "name=test_app&from=1&until=2",
  contentTypes: ["application/octet-stream"],
  ...overrides,
});

export interface Relay {
  prefix: string;
  /** An admin connection for inspecting keys and queues. */
  admin: Redis;
  enqueuer: Enqueuer;
  metrics: RelayMetrics;
  /** The running writer; `undefined` until `start()` when created with `start: false`. */
  writer: Writer | undefined;
  start(): Writer;
  queue(target: string): TargetQueue;
  /** Whether a batch's payload (its first chunk) is still stored. */
  batchExists(batchId: string): Promise<boolean>;
  /** The targets whose batch job still holds the batch's payload, sorted. */
  claims(batchId: string): Promise<string[]>;
  /** Every key under the prefix that belongs to a batch's payload (chunks, claims, detached copies). */
  payloadKeys(): Promise<string[]>;
}

/** Starts redis-server for the calling spec file; it is stopped when the file's tests are done. */
export async function redisForFile() {
  const server = await startRedisServer();
  const admin = createRedisConnection(server.url, "admin");
  admin.on("error", () => undefined);
  after(async () => {
    admin.disconnect();
    await server.stop();
  });
  await waitForRedis(admin, 2_000);

  /** Producer and writer for `targets` under a fresh prefix; everything is closed after the test. */
  async function relay(
    t: TestContext,
    targets: TargetConfig[],
    options: {
      start?: boolean;
      concurrency?: number;
      fakes?: FakeTarget[];
      flush?: FlushBounds;
      writer?: Partial<Pick<WriterOptions, "maxAgeMs" | "failedPayloadTtlMs" | "shutdownGraceMs" | "progressIntervalMs">>;
    } = {},
  ): Promise<Relay> {
    const prefix = `t-${randomUUID()}`;
    const producer = createRedisConnection(server.url, "producer");
    const worker = createRedisConnection(server.url, "worker");
    producer.on("error", () => undefined);
    worker.on("error", () => undefined);
    const enqueuer = new Enqueuer({ connection: producer, prefix, payloadTtlMs: 3_600_000, targets, flush: options.flush });
    const metrics = new RelayMetrics();
    const queues: TargetQueue[] = [];
    const state: Relay = {
      prefix,
      admin,
      enqueuer,
      metrics,
      writer: undefined,
      start() {
        state.writer = startWriter({
          targets,
          connection: worker,
          prefix,
          concurrency: options.concurrency ?? 4,
          logger: createLogger({ level: "silent" }),
          metrics,
          failedPayloadTtlMs: 3_600_000,
          ...options.writer,
        });
        return state.writer;
      },
      queue(target) {
        const queue = targetQueue(admin, prefix, target);
        queues.push(queue);
        return queue;
      },
      batchExists: async (id) => (await admin.exists(chunkKey(prefix, id, 0))) === 1,
      claims: async (id) => (await admin.smembers(batchClaimsKey(prefix, id))).sort(),
      payloadKeys: async () => (await admin.keys(`${prefix}:batch:*`)).sort(),
    };
    t.after(async () => {
      // Held answers first, or closing the writer would wait for them. Every step runs even when
      // one fails, so that a failing test does not keep the spec file alive.
      for (const fake of options.fakes ?? []) fake.release();
      const closed = await Promise.allSettled([state.writer?.close(), enqueuer.close(), ...queues.map((queue) => queue.close())]);
      await Promise.allSettled((options.fakes ?? []).map((fake) => fake.close()));
      producer.disconnect();
      worker.disconnect();
      for (const result of closed) if (result.status === "rejected") throw result.reason;
    });
    await Promise.all([waitForRedis(producer, 2_000), waitForRedis(worker, 2_000)]);
    if (options.start ?? true) state.start();
    return state;
  }

  return { server, admin, relay };
}

/** pollUntil at the pace of a writer on loopback: every 10 ms, for 5 s unless `timeoutMs` says. */
export function eventually<T>(what: string, check: Probe<T>, timeoutMs = 5_000): Promise<T> {
  return pollUntil(what, check, { timeoutMs, everyMs: 10 });
}

/** Resolves with the job once it is in `failed`. */
export async function failedJob(queue: TargetQueue, jobId: string, timeoutMs = 5_000) {
  return eventually(
    `job ${jobId} to fail`,
    async () => {
      // State first: a job read before it failed would carry no failure reason.
      if ((await queue.getJobState(jobId)) !== "failed") return undefined;
      return queue.getJob(jobId);
    },
    timeoutMs,
  );
}

/** Header values sent under `name` (any case), in order, from a raw header list. */
export function rawHeaderValues(rawHeaders: string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === name.toLowerCase()) values.push(rawHeaders[i + 1]!);
  }
  return values;
}

/** Gaps in milliseconds between consecutive requests' arrival times. */
export function gaps(requests: { at: number }[]): number[] {
  return requests.slice(1).map((request, i) => request.at - requests[i]!.at);
}

/** Sum of a writer counter for one target, over the series whose labels include `labels`. */
export async function counter(
  metric: { get(): Promise<{ values: { value: number; labels: Record<string, unknown>; metricName?: string }[] }> },
  target: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await metric.get();
  const matches = (v: { labels: Record<string, unknown> }) =>
    v.labels["target"] === target && Object.entries(labels).every(([name, value]) => v.labels[name] === value);
  return values.filter(matches).reduce((sum, v) => sum + v.value, 0);
}

/** Observations of `pyroscope_write_latency` for one target, over the series whose labels include `labels`. */
export async function latencyCount(
  metric: { get(): Promise<{ values: { value: number; labels: Record<string, unknown>; metricName?: string }[] }> },
  target: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await metric.get();
  const counts = values.filter((v) => v.metricName === "pyroscope_write_latency_count");
  return counts
    .filter((v) => v.labels["target"] === target && Object.entries(labels).every(([name, value]) => v.labels[name] === value))
    .reduce((sum, v) => sum + v.value, 0);
}
