/**
 * Shared by the receiver specs only (not exported from the package): a real receiver on 127.0.0.1
 * port 0 over a real Enqueuer, with helpers to read back what it stored in Redis and to speak raw
 * HTTP where fetch would hide the detail under test (repeated headers, chunking, dripping).
 */
import { randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { connect } from "node:net";
import type { Socket } from "node:net";
import type { TestContext } from "node:test";
import type { ReceiverConfig, ReceiverHttp2 } from "@pyroscope-relay/config";
import { createLogger, RelayMetrics } from "@pyroscope-relay/ops";
import type { Logger } from "@pyroscope-relay/ops";
import { BatchStore, createRedisConnection, Enqueuer, PendingSegments, queueNameFor, waitForRedis } from "@pyroscope-relay/queue";
import type { BacklogBounds, BatchSegment, FlushBounds, RedisGuard, ReplicationBound } from "@pyroscope-relay/queue";
import { targetConfig } from "@pyroscope-relay/testing";
import type { RedisServerHandle } from "@pyroscope-relay/testing";
import type { DebuginfoUpstream } from "./debuginfo-upstream.js";
import { ThrottledLog } from "@pyroscope-relay/ops";
import { BodyBudget } from "./body-budget.js";
import { startReceiver } from "./receiver-server.js";
import type { Receiver } from "./receiver-server.js";

export type RedisClient = ReturnType<typeof createRedisConnection>;

export interface HarnessOptions {
  targets?: string[];
  maxBodyBytes?: number;
  /** `--ingest.max-inflight-body-size`; no bound unless given. */
  maxInflightBodyBytes?: number;
  config?: Partial<ReceiverConfig>;
  backlog?: BacklogBounds;
  flush?: FlushBounds;
  /** The key prefix, unique per test unless a test prepares Redis under one first. */
  prefix?: string;
  /** Built on the receiver's producer connection; the harness starts and stops it. */
  guard?: (connection: RedisClient) => RedisGuard;
  /** `--redis.min-replicas` and `--redis.replica-timeout`. */
  replication?: ReplicationBound;
  /** Where the producer connection goes instead of `redis` (a proxy in front of it). */
  producerUrl?: string;
  /** Silent unless given. */
  logger?: Logger;
  debuginfo?: DebuginfoUpstream;
  /** Whether some target of the receiver forwards the client's tenant (all of them by default). */
  forwardsClientTenant?: (targets: readonly string[]) => boolean;
}

/** ReceiverConfig's HTTP/2 settings as the schema fills them in (Alloy's and Go's defaults). */
export const http2Defaults: ReceiverHttp2 = {
  maxConcurrentStreams: 100,
  maxReadFrameSize: 1 << 20,
  maxDecoderHeaderTableSize: 4096,
  maxUploadBufferPerStream: 1 << 20,
  maxUploadBufferPerConnection: 1 << 20,
  idleTimeoutMs: 30_000,
};

/** A profile as the receiver stored it: its bytes, and the targets whose waiting batch job has it. */
export interface StoredProfile {
  batchId: string;
  index: number;
  bytes: Buffer;
  targets: string[];
}

export interface TestReceiver {
  receiver: Receiver;
  url: string;
  prefix: string;
  targets: string[];
  metrics: RelayMetrics;
  /** The request bodies the receiver holds. */
  bodies: BodyBudget;
  /**
   * Every key under this receiver's prefix except each queue's `meta` (BullMQ writes it when the
   * Enqueuer creates the queue, before any request): empty means nothing was stored.
   */
  keys(): Promise<string[]>;
  /** Every stored profile, read back from the batches' chunks, in the order of the targets' segments. */
  payloads(): Promise<StoredProfile[]>;
  /** The segments (one per flush) waiting for one target's drain job, oldest first. */
  segments(target: string): Promise<BatchSegment[]>;
}

export const defaultMaxBodyBytes = 64 * 1024;

/** An admin connection to `redis`, disconnected after the test file. */
export async function adminConnection(redis: RedisServerHandle): Promise<RedisClient> {
  const admin = createRedisConnection(redis.url, "admin");
  admin.on("error", () => undefined);
  await waitForRedis(admin, 5_000);
  return admin;
}

/** A receiver with its own producer connection and a unique prefix, all closed after the test. */
export async function startTestReceiver(t: TestContext, redis: RedisServerHandle, admin: RedisClient, options: HarnessOptions = {}): Promise<TestReceiver> {
  const prefix = options.prefix ?? `rt-${randomUUID()}`;
  const targets = options.targets ?? ["alpha"];
  const connection = createRedisConnection(options.producerUrl ?? redis.url, "producer");
  connection.on("error", () => undefined);
  await waitForRedis(connection, 5_000);
  const guard = options.guard?.(connection);
  const targetConfigs = targets.map((name) => targetConfig(name));
  const enqueuer = new Enqueuer({
    connection,
    prefix,
    payloadTtlMs: 3_600_000,
    targets: targetConfigs,
    backlog: options.backlog,
    guard,
    flush: options.flush,
    replication: options.replication,
  });
  const metrics = new RelayMetrics();
  const config: ReceiverConfig = {
    label: "pyroscope.receive_http.test",
    listenAddress: "127.0.0.1",
    listenPort: 0,
    connLimit: 100,
    readTimeoutMs: 30_000,
    writeTimeoutMs: 30_000,
    idleTimeoutMs: 30_000,
    forwardTo: ["pyroscope.write.test"],
    targets,
    http2: http2Defaults,
    gracefulShutdownTimeoutMs: 5_000,
    debugInfoUploadTimeoutMs: 120_000,
    grpcBlockIgnored: false,
    http2DisabledIgnored: false,
    ...options.config,
  };
  let receiver: Receiver | undefined;
  // Registered first, so that a receiver that fails to start still closes the connection.
  t.after(async () => {
    await receiver?.close();
    await guard?.stop();
    await enqueuer.close();
    connection.disconnect();
  });
  const logger = options.logger ?? createLogger({ level: "silent" });
  const warnings = new ThrottledLog(logger);
  const bodies = new BodyBudget(options.maxInflightBodyBytes ?? 0, metrics, warnings);
  guard?.start();
  await enqueuer.readBacklogs();
  receiver = await startReceiver({
    config,
    enqueuer,
    metrics,
    logger,
    maxBodyBytes: options.maxBodyBytes ?? defaultMaxBodyBytes,
    warnings,
    bodies,
    endpointOf: (target) => targetConfigs.find(({ name }) => name === target)?.url ?? "",
    ...(options.debuginfo === undefined ? {} : { debuginfo: options.debuginfo }),
    ...(options.forwardsClientTenant === undefined ? {} : { forwardsClientTenant: options.forwardsClientTenant }),
  });
  const segments = (target: string) => new PendingSegments(admin, prefix, target).list();
  return {
    receiver,
    url: receiver.url,
    prefix,
    targets,
    metrics,
    bodies,
    segments,
    keys: async () => {
      const meta = new Set(targets.map((target) => `${prefix}:${queueNameFor(target)}:meta`));
      return (await admin.keys(`${prefix}:*`)).filter((key) => !meta.has(key));
    },
    async payloads() {
      const store = new BatchStore(admin, prefix);
      const stored = new Map<string, StoredProfile>();
      for (const target of targets) {
        for (const segment of await segments(target)) {
          const bytes = await store.load(segment, segment.profiles);
          for (const ref of segment.profiles) {
            const key = `${segment.batch}/${ref.index}`;
            const profile = stored.get(key) ?? { batchId: segment.batch, index: ref.index, bytes: bytes.get(ref.index) ?? Buffer.alloc(0), targets: [] };
            profile.targets.push(target);
            stored.set(key, profile);
          }
        }
      }
      return [...stored.values()].map((profile) => ({ ...profile, targets: profile.targets.sort() }));
    },
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/**
 * One request on a connection of its own (no agent), so a test's keep-alive state never leaks into
 * the next. Header values may be arrays: node:http sends one header line per value.
 */
export function send(url: string, method: string, path: string, headers: Record<string, string | string[]> = {}, body?: Uint8Array): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // @types/node types some headers (content-type) as a single string; node:http sends arrays as is.
    const outgoing = headers as OutgoingHttpHeaders;
    const req = httpRequest(`${url}${path}`, { method, headers: outgoing, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const bytes = Buffer.concat(chunks);
        let json: unknown;
        try {
          json = JSON.parse(bytes.toString("utf8"));
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: bytes, json });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

export interface RawConnection {
  socket: Socket;
  /** Everything received so far, one character per byte. */
  received: () => string;
  closed: Promise<void>;
}

/** A bare TCP connection to the receiver, for requests written byte for byte (partial bodies, chunking). */
export function rawConnection(url: string): RawConnection {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let text = "";
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => {
    text += chunk;
  });
  socket.on("error", () => undefined);
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return { socket, received: () => text, closed };
}

/** The status of a raw HTTP/1.1 answer. */
export function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);
}

/** The JSON body of a raw HTTP/1.1 answer. */
export function jsonBodyOf(response: string): { code: string; message: string } {
  return JSON.parse(response.slice(response.indexOf("\r\n\r\n") + 4)) as { code: string; message: string };
}

/** `promise`, or a rejection naming `what` after `ms`; the timer never outlives the test. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
