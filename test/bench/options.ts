import { parseArgs } from "node:util";
import { InvalidByteSizeError, InvalidDurationError, parseByteSize, parseDuration } from "@pyroscope-relay/config";
import type { MemoryState } from "./settle-memory.js";

export interface BenchOptions {
  bodySize: number;
  targets: number;
  /** Of each load, in whole seconds: wrk's `-d` takes no fractions. */
  durationS: number;
  connections: number;
  persistence: RedisPersistence;
  /** Run on a local Redis Cluster (3 masters, a replica each) instead of one Redis. */
  cluster: boolean;
  /** `--target.queue-shards` of the relay: 4 on a cluster, 1 otherwise, unless given. */
  queueShards: number;
  json: boolean;
  /** Whether each load's memory is settled first (see settleMemory) or left as the machine has it. */
  memory: MemoryState;
}

export type Appendfsync = "always" | "everysec";

/** How the bench's Redis persists: the defaults are how the relay's Redis should run (README, "Your own Redis"). */
export interface RedisPersistence {
  /** `always` (fsync before every reply) or `everysec`. */
  appendfsync: Appendfsync;
  /** `auto-aof-rewrite-min-size` in bytes: 1 GiB, or Redis' own 64 MiB to see what it costs. */
  aofRewriteMinSize: number;
}

/** A bad command line: the bench exits 2 with the message. */
export class UsageError extends Error {
  override name = "UsageError";
}

export const usage = `usage: npm run bench -- [--body-size 10KiB] [--targets 2] [--duration 10s] [--connections 32] [--appendfsync always] [--aof-rewrite-min-size 1GiB] [--cluster] [--queue-shards N] [--memory settled] [--json]
  --body-size    bytes of random body per profile (10240, 10KiB, 64KB, ...; at most 32MiB)
  --targets      stand-in Pyroscope targets, 1..8
  --duration     of each load phase, whole seconds (10s, 1m)
  --connections  wrk connections, 1..1024
  --appendfsync  Redis AOF fsync policy: always (before every reply) or everysec
  --aof-rewrite-min-size  Redis' auto-aof-rewrite-min-size (1GiB; 64MiB is Redis' default)
  --cluster      a local Redis Cluster of 3 masters with a replica each (--redis.min-replicas 1)
  --queue-shards the relay's --target.queue-shards, 1..64 (4 with --cluster, else 1)
  --memory       settled: touch and free the memory a load will grow into right before it, so that no
                 phase pays a hypervisor's backing of pages it took back; cold: leave the machine as it is
  --json         also print the figures as one JSON object at the end`;

// The relay's default --ingest.max-body-size: larger bodies get 413.
const maxBodySize = 32 * 2 ** 20;

export function parseOptions(args: string[]): BenchOptions {
  const values = flags(args);
  return {
    bodySize: bodySize(values["body-size"]),
    targets: integer("--targets", values.targets, 1, 8),
    durationS: durationSeconds(values.duration),
    connections: integer("--connections", values.connections, 1, 1024),
    persistence: { appendfsync: appendfsync(values.appendfsync), aofRewriteMinSize: aofRewriteMinSize(values["aof-rewrite-min-size"]) },
    cluster: values.cluster,
    queueShards: integer("--queue-shards", values["queue-shards"] ?? (values.cluster ? "4" : "1"), 1, 64),
    json: values.json,
    memory: memoryState(values.memory),
  };
}

function flags(args: string[]) {
  try {
    return parseArgs({
      args,
      options: {
        "body-size": { type: "string", default: "10KiB" },
        targets: { type: "string", default: "2" },
        duration: { type: "string", default: "10s" },
        connections: { type: "string", default: "32" },
        appendfsync: { type: "string", default: "always" },
        "aof-rewrite-min-size": { type: "string", default: "1GiB" },
        cluster: { type: "boolean", default: false },
        "queue-shards": { type: "string" },
        memory: { type: "string", default: "settled" },
        json: { type: "boolean", default: false },
      },
    }).values;
  } catch (error) {
    // Unknown flags, missing values, positionals: parseArgs' own message names the culprit.
    throw new UsageError((error as Error).message);
  }
}

function appendfsync(text: string): Appendfsync {
  if (text !== "always" && text !== "everysec") throw new UsageError(`--appendfsync: expected always or everysec, got ${JSON.stringify(text)}`);
  return text;
}

function memoryState(text: string): MemoryState {
  if (text !== "settled" && text !== "cold") throw new UsageError(`--memory: expected settled or cold, got ${JSON.stringify(text)}`);
  return text;
}

function aofRewriteMinSize(text: string): number {
  try {
    return parseByteSize(text);
  } catch (error) {
    if (error instanceof InvalidByteSizeError) throw new UsageError(`--aof-rewrite-min-size: ${error.message}`);
    throw error;
  }
}

function bodySize(text: string): number {
  let bytes: number;
  try {
    bytes = parseByteSize(text);
  } catch (error) {
    if (error instanceof InvalidByteSizeError) throw new UsageError(`--body-size: ${error.message}`);
    throw error;
  }
  if (bytes < 1 || bytes > maxBodySize) throw new UsageError(`--body-size: expected 1 byte to 32MiB, got ${text}`);
  return bytes;
}

function integer(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`${flag}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function durationSeconds(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (error) {
    if (error instanceof InvalidDurationError) throw new UsageError(`--duration: ${error.message}`);
    throw error;
  }
  if (ms < 2_000 || ms % 1_000 !== 0) throw new UsageError(`--duration: expected whole seconds, at least 2s, got ${text}`);
  return ms / 1_000;
}
