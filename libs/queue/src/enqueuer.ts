import { randomUUID } from "node:crypto";
import type { TargetConfig } from "@pyroscope-relay/config";
import type { Redis } from "ioredis";
import { BacklogFullError, InvalidTargetsError, QueueUnavailableError, type FullTarget } from "./errors.js";
import type { JobData } from "./job-data.js";
import { checkTtl, PayloadStore } from "./payload-store.js";
import type { RedisMemoryGuard } from "./redis-memory-guard.js";
import { TargetBacklog, type BacklogBounds } from "./target-backlog.js";
import { targetQueue, type TargetQueue } from "./target-queue.js";

/** Name of the custom BullMQ backoff strategy the writer registers (capped, honours Retry-After). */
export const TARGET_BACKOFF = "target";

/** `attempts` for `max_backoff_retries = 0` (unbounded): at a 5 min cap, longer than any retention. */
export const UNBOUNDED_ATTEMPTS = 2 ** 31 - 1;

/** What the receiver knows about a request; the enqueuer adds the payload id and size. */
export type EnqueueData = JobData extends infer T ? (T extends JobData ? Omit<T, "payloadId" | "payloadSize"> : never) : never;

export interface EnqueuerOptions {
  /** A `producer` connection: commands fail fast while Redis is down. */
  connection: Redis;
  prefix: string;
  payloadTtlMs: number;
  /** The targets this process may enqueue to; one BullMQ queue each. */
  targets: readonly TargetConfig[];
  /** Per-target backlog bounds; without them (or with both at 0) backlogs are not checked. */
  backlog?: BacklogBounds;
  /** Refuses every enqueue while Redis is near its `maxmemory`. */
  memoryGuard?: RedisMemoryGuard;
}

export interface EnqueueResult {
  /** Where the profile is stored; nothing is stored under it when `queued` is empty. */
  payloadId: string;
  /** The targets that got a job. */
  queued: readonly string[];
  /** Targets at their backlog bound under policy `drop`: they get no job for this profile. */
  dropped: readonly FullTarget[];
}

interface TargetEntry {
  name: string;
  queue: TargetQueue;
  attempts: number;
  backlog: TargetBacklog;
}

/** Producer side: stores a profile once and adds one small job per target that must receive it. */
export class Enqueuer {
  private readonly store: PayloadStore;
  private readonly queues = new Map<string, TargetEntry>();
  private readonly payloadTtlMs: number;
  private readonly bounds: BacklogBounds | undefined;
  private readonly memoryGuard: RedisMemoryGuard | undefined;

  constructor(options: EnqueuerOptions) {
    // Checked here so that a bad setting stops the process at start instead of answering 503.
    checkTtl(options.payloadTtlMs);
    this.store = new PayloadStore(options.connection, options.prefix);
    this.payloadTtlMs = options.payloadTtlMs;
    const { backlog } = options;
    this.bounds = backlog !== undefined && (backlog.maxJobs > 0 || backlog.maxBytes > 0) ? backlog : undefined;
    this.memoryGuard = options.memoryGuard;
    for (const target of options.targets) {
      this.queues.set(target.name, {
        name: target.name,
        queue: targetQueue(options.connection, options.prefix, target.name, { failFast: true }),
        attempts: target.maxBackoffRetries === 0 ? UNBOUNDED_ATTEMPTS : target.maxBackoffRetries,
        backlog: new TargetBacklog(options.connection, options.prefix, target.name),
      });
    }
  }

  /**
   * Resolves once the payload and every job are in Redis: only then may the client get its 200.
   * A target whose backlog is at its bound gets no job under policy `drop` (listed in `dropped`;
   * when every target dropped the profile, nothing is stored); under policy `reject` this throws
   * `BacklogFullError` and nothing is stored for any target.
   * Throws `QueueUnavailableError` (answer 503) when Redis refuses, times out or is near its
   * `maxmemory`; what was stored for this attempt is released, and the payload TTL covers a release
   * that could not reach Redis either. Jobs already added stay: the client's retry may duplicate the
   * profile at those targets.
   */
  async enqueue(payload: Uint8Array, data: EnqueueData, targets: readonly string[]): Promise<EnqueueResult> {
    const entries = this.queuesFor(targets);
    this.memoryGuard?.check();
    const size = payload.byteLength;
    const { admitted, dropped } = await this.admit(entries, size);
    const payloadId = randomUUID();
    if (admitted.length === 0) return { payloadId, queued: [], dropped };
    const queued = admitted.map((entry) => entry.name);
    try {
      await this.store.put(payloadId, payload, queued, this.payloadTtlMs);
    } catch (cause) {
      // A timed-out MULTI may still have been applied.
      await this.releaseQuietly(payloadId, admitted, size);
      throw new QueueUnavailableError(`could not store payload: ${describe(cause)}`, { cause });
    }
    const jobData = { ...data, payloadId, payloadSize: size } as JobData;
    const added = await Promise.allSettled(
      admitted.map(({ queue, attempts }) =>
        queue.add(jobData.kind, jobData, {
          jobId: payloadId,
          attempts,
          backoff: { type: TARGET_BACKOFF },
          removeOnComplete: true,
          // Failed jobs are kept for inspection and replay.
          removeOnFail: false,
        }),
      ),
    );
    const failed = admitted.filter((_, i) => added[i]?.status === "rejected");
    if (failed.length === 0) return { payloadId, queued, dropped };
    await this.releaseQuietly(payloadId, failed, size);
    const causes = added.flatMap((result) => (result.status === "rejected" ? [result.reason as unknown] : []));
    const cause = causes.length === 1 ? causes[0] : new AggregateError(causes, "job adds failed");
    throw new QueueUnavailableError(
      `could not queue the profile for ${failed.map((entry) => entry.name).join(", ")}: ${describe(causes[0])}`,
      { cause },
    );
  }

  /** Closes the queues; the connection belongs to the caller. */
  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map(({ queue }) => queue.close()));
  }

  private queuesFor(targets: readonly string[]) {
    if (targets.length === 0) throw new InvalidTargetsError("no target to enqueue to", targets);
    const duplicates = targets.filter((name, i) => targets.indexOf(name) !== i);
    if (duplicates.length > 0) throw new InvalidTargetsError(`duplicate target(s): ${duplicates.join(", ")}`, targets);
    const unknown = targets.filter((name) => !this.queues.has(name));
    if (unknown.length > 0) throw new InvalidTargetsError(`unknown target(s): ${unknown.join(", ")}`, targets);
    return targets.map((name) => this.queues.get(name)!);
  }

  /**
   * Reserves room in every target's backlog at once and applies the policy to the full ones. Room
   * reserved for a request that is then refused is given back.
   */
  private async admit(entries: TargetEntry[], size: number): Promise<{ admitted: TargetEntry[]; dropped: FullTarget[] }> {
    const bounds = this.bounds;
    if (bounds === undefined) return { admitted: entries, dropped: [] };
    const reserved = await Promise.allSettled(entries.map((entry) => entry.backlog.reserve(size, bounds)));
    const admitted = entries.filter((_, i) => {
      const result = reserved[i];
      return result?.status === "fulfilled" && result.value.admitted;
    });
    const errors = reserved.flatMap((result) => (result.status === "rejected" ? [result.reason as unknown] : []));
    if (errors.length > 0) {
      await this.releaseBacklogs(admitted, size);
      const cause = errors.length === 1 ? errors[0] : new AggregateError(errors, "backlog checks failed");
      throw new QueueUnavailableError(`could not check the target backlogs: ${describe(errors[0])}`, { cause });
    }
    const full = entries.flatMap((entry, i) => {
      const result = reserved[i];
      return result?.status === "fulfilled" && !result.value.admitted ? [{ target: entry.name, jobs: result.value.jobs, bytes: result.value.bytes }] : [];
    });
    if (full.length > 0 && bounds.policy === "reject") {
      await this.releaseBacklogs(admitted, size);
      throw new BacklogFullError(`backlog full for ${full.map((target) => describeFull(target, bounds)).join("; ")}`, full);
    }
    return { admitted, dropped: full };
  }

  /** Best effort: when Redis is unreachable the payload TTL is the backstop. */
  private async releaseQuietly(payloadId: string, entries: readonly TargetEntry[], size: number): Promise<void> {
    await Promise.allSettled([...entries.map((entry) => this.store.release(payloadId, entry.name)), this.releaseBacklogs(entries, size)]);
  }

  /**
   * Gives back reserved room. Best effort: a count that cannot be given back makes the target look
   * fuller than it is until its queue empties (see TargetBacklog).
   */
  private async releaseBacklogs(entries: readonly TargetEntry[], size: number): Promise<void> {
    if (this.bounds === undefined) return;
    await Promise.allSettled(entries.map((entry) => entry.backlog.release(size)));
  }
}

/** Names the bounds the target is at, e.g. `target alpha (3 of 3 jobs)`. */
function describeFull(usage: FullTarget, bounds: BacklogBounds): string {
  const limits = [
    bounds.maxJobs > 0 && usage.jobs >= bounds.maxJobs ? `${usage.jobs} of ${bounds.maxJobs} jobs` : undefined,
    bounds.maxBytes > 0 && usage.bytes >= bounds.maxBytes ? `${usage.bytes} of ${bounds.maxBytes} bytes` : undefined,
  ].filter((limit) => limit !== undefined);
  return `target ${usage.target} (${limits.join(", ")})`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
