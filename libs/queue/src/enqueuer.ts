import { randomUUID } from "node:crypto";
import type { TargetConfig } from "@pyroscope-relay/config";
import type { Redis } from "ioredis";
import { InvalidTargetsError, QueueUnavailableError } from "./errors.js";
import type { JobData } from "./job-data.js";
import { checkTtl, PayloadStore } from "./payload-store.js";
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
}

/** Producer side: stores a profile once and adds one small job per target that must receive it. */
export class Enqueuer {
  private readonly store: PayloadStore;
  private readonly queues = new Map<string, { queue: TargetQueue; attempts: number }>();
  private readonly payloadTtlMs: number;

  constructor(options: EnqueuerOptions) {
    // Checked here so that a bad setting stops the process at start instead of answering 503.
    checkTtl(options.payloadTtlMs);
    this.store = new PayloadStore(options.connection, options.prefix);
    this.payloadTtlMs = options.payloadTtlMs;
    for (const target of options.targets) {
      this.queues.set(target.name, {
        queue: targetQueue(options.connection, options.prefix, target.name, { failFast: true }),
        attempts: target.maxBackoffRetries === 0 ? UNBOUNDED_ATTEMPTS : target.maxBackoffRetries,
      });
    }
  }

  /**
   * Resolves once the payload and every job are in Redis: only then may the client get its 200.
   * Throws `QueueUnavailableError` (answer 503) when Redis refuses or times out; what was stored for
   * this attempt is released, and the payload TTL covers a release that could not reach Redis either.
   * Jobs already added stay: the client's retry may duplicate the profile at those targets.
   */
  async enqueue(payload: Uint8Array, data: EnqueueData, targets: readonly string[]): Promise<{ payloadId: string }> {
    const queues = this.queuesFor(targets);
    const payloadId = randomUUID();
    try {
      await this.store.put(payloadId, payload, targets, this.payloadTtlMs);
    } catch (cause) {
      // A timed-out MULTI may still have been applied.
      await this.releaseQuietly(payloadId, targets);
      throw new QueueUnavailableError(`could not store payload: ${describe(cause)}`, { cause });
    }
    const jobData = { ...data, payloadId, payloadSize: payload.byteLength } as JobData;
    const added = await Promise.allSettled(
      queues.map(({ queue, attempts }) =>
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
    const failed = targets.filter((_, i) => added[i]?.status === "rejected");
    if (failed.length === 0) return { payloadId };
    await this.releaseQuietly(payloadId, failed);
    const causes = added.flatMap((result) => (result.status === "rejected" ? [result.reason as unknown] : []));
    const cause = causes.length === 1 ? causes[0] : new AggregateError(causes, "job adds failed");
    throw new QueueUnavailableError(
      `could not queue the profile for ${failed.join(", ")}: ${describe(causes[0])}`,
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

  /** Best effort: when Redis is unreachable the payload TTL is the backstop. */
  private async releaseQuietly(payloadId: string, targets: readonly string[]): Promise<void> {
    await Promise.allSettled(targets.map((target) => this.store.release(payloadId, target)));
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
