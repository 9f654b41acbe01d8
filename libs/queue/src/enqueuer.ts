import type { TargetConfig } from "@pyroscope-relay/config";
import type { Redis } from "ioredis";
import type { ProfileFacts, ProfileRef } from "./batch-data.js";
import { addDrainJob, attemptsFor, drainJobId } from "./batch-job.js";
import { BatchPlacement } from "./batch-placement.js";
import { BatchStore, STORE_RESULTS } from "./batch-store.js";
import { BacklogView, type BacklogBounds } from "./backlog-view.js";
import { BacklogFullError, InvalidTargetsError, QueueUnavailableError, ReplicasMissingError, type FullTarget } from "./errors.js";
import { DeadlinePassedError, GroupCommit, type FlushBounds } from "./group-commit.js";
import { formatRanges } from "./index-ranges.js";
import { layOut } from "./payload-layout.js";
import { PendingSegments } from "./pending-segments.js";
import { isCluster, type RedisConnection } from "./redis-connection.js";
import type { RedisGuard } from "./redis-guard.js";
import { confirmReplicas, type ReplicationBound } from "./replication.js";
import { TargetBacklog, usageOf, type BacklogUsage } from "./target-backlog.js";
import { targetQueue, type TargetQueue } from "./target-queue.js";
import { runTransaction, Transaction, transactionNotRun, type TransactionResults } from "./transaction.js";

/** Defaults of `--ingest.flush-max-profiles` and `--ingest.flush-max-size`. */
export const DEFAULT_FLUSH_BOUNDS: FlushBounds = { maxItems: 500, maxBytes: 8 * 1024 * 1024 };

/** How often an ingest process reads the backlogs of targets with bounds, besides each flush's reply. */
const BACKLOG_POLL_MS = 1_000;

export interface EnqueuerOptions {
  /** A `producer` connection: commands fail fast while Redis is down. */
  connection: RedisConnection;
  /**
   * A `producer` connection of their own for BullMQ's queues, which add drain jobs (`connection` by
   * default). BullMQ defines its 70-odd scripts on the connection a queue uses, and ioredis copies
   * every script defined on a connection into each Pipeline made on it, which a flush's MULTI is
   * on a Redis Cluster (see transaction.ts): there, kept apart, a flush costs a fifth of the CPU.
   */
  jobConnection?: RedisConnection;
  prefix: string;
  payloadTtlMs: number;
  /** The targets this process may enqueue to; one BullMQ queue each. */
  targets: readonly TargetConfig[];
  /** Per-target backlog bounds; without them (or with both at 0) backlogs are not checked. */
  backlog?: BacklogBounds;
  /**
   * Refuses every enqueue while Redis is near its `maxmemory`; with `replication`, flushes write around
   * masters short of replicas, and a profile that cannot be written around them is refused (see BatchPlacement).
   */
  guard?: RedisGuard;
  /** What one flush may carry (`DEFAULT_FLUSH_BOUNDS` by default). */
  flush?: FlushBounds;
  /** Queues per target (`--target.queue-shards`, 1 by default); a batch goes to the shard its id picks (see BatchPlacement). */
  queueShards?: number;
  /** A flush counts as stored only once this many replicas of every master it wrote to hold it (Redis WAIT). */
  replication?: ReplicationBound;
  /** Hears why a background read of the backlogs or a cleanup after a failed flush failed. */
  onError?: (error: unknown) => void;
  /** Hears of every flush once it is done, stored or failed, for the metrics. */
  onFlush?: (flush: FlushReport) => void;
}

/** One flush, done: every request it carried waited for it (and, before it went out, for its turn). */
export interface FlushReport {
  profiles: number;
  /** From the flush's start to its outcome: Redis' writes (and fsync), the drain jobs added, the replicas' confirmation. */
  seconds: number;
  stored: boolean;
}

export interface EnqueueResult {
  /** The batch that carried the profile; "" when nothing was stored (every target dropped it). */
  batchId: string;
  /** The targets that got it. */
  queued: readonly string[];
  /** Targets at their backlog bound under policy `drop`: they do not get this profile. */
  dropped: readonly FullTarget[];
}

interface TargetEntry {
  name: string;
  /** The target's queue shards, each with its pending segments and backlog counter. */
  shards: { queue: TargetQueue; pending: PendingSegments; backlog: TargetBacklog }[];
  attempts: number;
  view: BacklogView;
  /** Profiles this process stored for the target. */
  stored: number;
}

/** A target's part of a flush: a segment for its drain job, on the shard its placement picks. */
interface TargetJob {
  entry: TargetEntry;
  shard: number;
  queue: TargetQueue;
  pending: PendingSegments;
  backlog: TargetBacklog;
  /** The segment's entry in the pending list: a pointer into the batch's references. */
  listed: string;
  usage: BacklogUsage;
}

interface Submission {
  payload: Uint8Array;
  facts: ProfileFacts;
  targets: readonly TargetEntry[];
}

/**
 * Producer side: admits each profile against its targets' backlogs, then writes it with every other
 * profile that arrived meanwhile (group commit): one MULTI per flush stores the batch's payload once
 * and, per target that gets any of its profiles, appends a segment to the target's pending list; a
 * target without a drain job waiting then gets one. A request is answered only once its flush is in
 * Redis.
 */
export class Enqueuer {
  private readonly store: BatchStore;
  private readonly entries = new Map<string, TargetEntry>();
  /**
   * Targets a reload removed, by name: their queues may serve flushes under way and close with the
   * enqueuer, and a target added back takes up its own again.
   */
  private readonly retired = new Map<string, TargetEntry>();
  private readonly payloadTtlMs: number;
  private readonly bounds: BacklogBounds | undefined;
  private readonly guard: RedisGuard | undefined;
  private readonly placement: BatchPlacement;
  private readonly commit: GroupCommit<Submission, string>;
  private readonly cleanups = new Set<Promise<void>>();
  private readonly poller: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(private readonly options: EnqueuerOptions) {
    // Checked here so that a bad setting stops the process at start instead of answering 503.
    if (!Number.isSafeInteger(options.payloadTtlMs) || options.payloadTtlMs <= 0) {
      throw new RangeError(`payload TTL must be a positive integer (ms), got ${options.payloadTtlMs}`);
    }
    this.store = new BatchStore(options.connection, options.prefix);
    this.payloadTtlMs = options.payloadTtlMs;
    const { backlog } = options;
    this.bounds = backlog !== undefined && (backlog.maxProfiles > 0 || backlog.maxBytes > 0) ? backlog : undefined;
    this.guard = options.guard;
    this.placement = new BatchPlacement(options.connection, options.prefix, options.replication === undefined ? undefined : options.guard);
    const shards = options.queueShards ?? 1;
    if (!Number.isSafeInteger(shards) || shards < 1) throw new RangeError(`queue shards must be a whole number of at least 1, got ${shards}`);
    this.setTargets(options.targets);
    this.commit = new GroupCommit({
      bounds: options.flush ?? DEFAULT_FLUSH_BOUNDS,
      sizeOf: (submission) => submission.payload.byteLength,
      write: (group) => this.flush(group),
      // No flush settles the reservation of a withdrawn profile.
      withdrawn: (submission) => {
        for (const entry of submission.targets) entry.view.settle({ profiles: 1, bytes: submission.payload.byteLength });
      },
    });
    if (this.bounds !== undefined) {
      this.poller = setInterval(() => void this.readBacklogs(), BACKLOG_POLL_MS);
      this.poller.unref();
    }
  }

  /**
   * Reads every target's backlog now (a reading under way is joined). The enqueuer reads them every
   * second by itself when it has bounds; before the first reading it admits every profile.
   */
  readBacklogs(): Promise<void> {
    const shards = [...this.entries.values()].flatMap((entry) => entry.shards.map(({ backlog }) => ({ entry, backlog })));
    this.polling ??= Promise.all(shards.map(async ({ entry, backlog }) => entry.view.update(await backlog.read(), backlog.shard)))
      .then(
        () => undefined,
        (error: unknown) => this.options.onError?.(error),
      )
      .finally(() => {
        this.polling = undefined;
      });
    return this.polling;
  }

  /**
   * The targets to enqueue to from now on (a configuration reload). A new target starts with an
   * unread backlog (the next reading fills it in); a changed one keeps its queue and takes the new
   * retry budget; a removed one gets no new profiles, while its queue keeps what it holds and the
   * profiles admitted for it before still go out with their flush; one added back takes up its
   * entry again (so that reloads that remove and add targets hold no more queues than names).
   */
  setTargets(targets: readonly TargetConfig[]): void {
    const names = new Set(targets.map((target) => target.name));
    for (const [name, entry] of this.entries) {
      if (names.has(name)) continue;
      this.entries.delete(name);
      this.retired.set(name, entry);
    }
    for (const target of targets) {
      const attempts = attemptsFor(target);
      const entry = this.entries.get(target.name) ?? this.retired.get(target.name);
      if (entry !== undefined) {
        this.retired.delete(target.name);
        this.entries.set(target.name, entry);
        entry.attempts = attempts;
        continue;
      }
      const { connection, jobConnection = connection, prefix, queueShards = 1 } = this.options;
      this.entries.set(target.name, {
        name: target.name,
        shards: Array.from({ length: queueShards }, (_, shard) => ({
          queue: targetQueue(jobConnection, prefix, target.name, { failFast: true, shard }),
          pending: new PendingSegments(connection, prefix, target.name, shard),
          backlog: new TargetBacklog(connection, prefix, target.name, shard),
        })),
        attempts,
        view: new BacklogView(),
        stored: 0,
      });
    }
  }

  /**
   * Resolves once the profile's batch (payload and jobs) is in Redis: only then may the client get its
   * 200. A target whose backlog is at its bound does not get the profile under policy `drop` (listed in
   * `dropped`; when every target dropped it, nothing is stored); under policy `reject` this throws
   * `BacklogFullError` and nothing is stored.
   * Throws `QueueUnavailableError` (answer 503) when Redis refuses, times out or is near its
   * `maxmemory` (the whole flush failed, and what it may have stored is released in the background;
   * the payload TTL covers a release that cannot reach Redis either); with `replication`, when a master
   * the profile would be written to is short of replicas (`ReplicasMissingError`, nothing stored); and
   * when the profile still waits for its flush past `deadline` (Date.now(); its client had its answer
   * already): it is withdrawn then, and nothing of it is stored.
   */
  async enqueue(payload: Uint8Array, facts: ProfileFacts, targets: readonly string[], deadline?: number): Promise<EnqueueResult> {
    const entries = this.entriesFor(targets);
    // Profiles given up on no longer hold room under the bounds.
    this.commit.withdrawExpired();
    this.guard?.check();
    const { admitted, dropped } = this.admit(entries);
    if (admitted.length === 0) return { batchId: "", queued: [], dropped };
    // Alone, before it joins a flush: the flush's other profiles are stored all the same.
    this.placement.refuseUnplaceable(admitted);
    const size = payload.byteLength;
    for (const entry of admitted) entry.view.reserve(size);
    let batchId: string;
    try {
      batchId = await this.commit.submit({ payload, facts, targets: admitted }, deadline);
    } catch (error) {
      if (error instanceof DeadlinePassedError) throw new QueueUnavailableError(`the profile was not stored: ${error.message}`, { cause: error });
      throw error;
    }
    return { batchId, queued: admitted.map((entry) => entry.name), dropped };
  }

  /** Profiles this process stored for `target` so far, while or after it was one of its targets. */
  storedFor(target: string): number {
    return (this.entries.get(target) ?? this.retired.get(target))?.stored ?? 0;
  }

  /** Waits for the flushes and cleanups under way, then closes the queues; the connection is the caller's. */
  async close(): Promise<void> {
    clearInterval(this.poller);
    await this.commit.settled();
    await Promise.all([this.polling, ...this.cleanups]);
    await Promise.all([...this.entries.values(), ...this.retired.values()].flatMap(({ shards }) => shards.map(({ queue }) => queue.close())));
  }

  private entriesFor(targets: readonly string[]): TargetEntry[] {
    if (targets.length === 0) throw new InvalidTargetsError("no target to enqueue to", targets);
    const duplicates = targets.filter((name, i) => targets.indexOf(name) !== i);
    if (duplicates.length > 0) throw new InvalidTargetsError(`duplicate target(s): ${duplicates.join(", ")}`, targets);
    const unknown = targets.filter((name) => !this.entries.has(name));
    if (unknown.length > 0) throw new InvalidTargetsError(`unknown target(s): ${unknown.join(", ")}`, targets);
    return targets.map((name) => this.entries.get(name)!);
  }

  /** Applies the backlog bounds, per profile, from each target's last known backlog. */
  private admit(entries: TargetEntry[]): { admitted: TargetEntry[]; dropped: FullTarget[] } {
    const bounds = this.bounds;
    if (bounds === undefined) return { admitted: entries, dropped: [] };
    const full = entries.filter((entry) => !entry.view.admits(bounds)).map((entry) => ({ target: entry.name, ...entry.view.usage() }));
    if (full.length > 0 && bounds.policy === "reject") {
      throw new BacklogFullError(`backlog full for ${full.map((target) => describeFull(target, bounds)).join("; ")}`, full);
    }
    return { admitted: entries.filter((entry) => !full.some((f) => f.target === entry.name)), dropped: full };
  }

  /**
   * One flush: the batch's chunks and claims, then per target its segment and backlog count. On one
   * Redis that is one MULTI: stored together or not at all, with one fsync. A Cluster runs a MULTI per
   * hash slot: the batch's first, so that no segment ever refers to chunks not stored yet, then every
   * target's at once. A target whose MULTI found no drain job waiting then gets one (BullMQ's add,
   * a round trip more; under load a drain job waits nearly always). Should the process die between
   * the two, or a failover lose the add, writers add it within `DRAIN_SWEEP_MS` (batch-worker.ts).
   * With a replication bound, the flush counts only once the replicas hold its MULTI.
   */
  private async flush(group: Submission[]): Promise<string> {
    const startedAt = performance.now();
    let stored = false;
    // Reservations end with the reading that counts the flush in, not after the round trips that follow.
    const settled = new Set<TargetJob>();
    // On a Cluster, targets whose segment surely never got stored: their claims on the batch go at once.
    let unlisted: readonly TargetJob[] = [];
    // The batch's MULTI (on one Redis, the flush's only one) surely did not run: nothing to undo.
    let nothingRan = false;
    const runBatch = (transaction: Transaction) =>
      runTransaction(this.options.connection, transaction).catch((error: unknown) => {
        nothingRan = transactionNotRun(error);
        throw error;
      });
    // From the submissions, not `entries`: a target removed by a reload since still gets what it admitted.
    const targets = [...new Set(group.flatMap((submission) => submission.targets))];
    const { batchId, shards, short } = this.placement.place(targets);
    const { offsets, chunks } = layOut(group.map((submission) => submission.payload));
    const bytes = group.reduce((sum, submission) => sum + submission.payload.byteLength, 0);
    const refs = group.map((submission, index): ProfileRef => ({ ...submission.facts, index, offset: offsets[index]!, size: submission.payload.byteLength }));
    const jobs = targets.map((entry, index): TargetJob => {
      const profiles = refs.filter((_, i) => group[i]!.targets.includes(entry));
      const shard = shards[index]!;
      const receivedAt = profiles.reduce((oldest, ref) => Math.min(oldest, ref.receivedAt), Number.POSITIVE_INFINITY);
      const pointer = { batch: batchId, bytes, indices: formatRanges(profiles.map((ref) => ref.index)), receivedAt };
      const usage = usageOf(profiles);
      return { entry, shard, ...entry.shards[shard]!, listed: PendingSegments.entry(pointer, usage), usage };
    });
    try {
      if (short.length > 0) {
        // Refused before anything is sent: nothing to undo. The guard's state changed since the profiles were admitted.
        nothingRan = true;
        this.guard!.refuseShort(short);
      }
      const batch = new Transaction();
      this.store.queueStore(
        batch,
        batchId,
        chunks,
        refs,
        jobs.map((job) => job.entry.name),
        this.payloadTtlMs,
      );
      const { connection } = this.options;
      let results: unknown[];
      // Where the MULTIs ran, by address: WAIT goes on those connections.
      const masters = new Map<string, Redis>();
      if (isCluster(connection)) {
        const segments = jobs.map((job) => {
          const segment = new Transaction();
          this.queueSegment(segment, job);
          return segment;
        });
        unlisted = jobs;
        checkResults(await runBatch(batch), chunks.length + STORE_RESULTS);
        // Every segment settles before the flush does: an undo must not overtake a MULTI still on its way.
        const outcomes = await Promise.allSettled(segments.map(async (segment) => checkResults(await runTransaction(connection, segment), SEGMENT_RESULTS)));
        unlisted = jobs.filter((_, i) => outcomes[i]!.status === "rejected" && transactionNotRun((outcomes[i] as PromiseRejectedResult).reason));
        results = outcomes.flatMap((outcome) => {
          if (outcome.status === "rejected") throw outcome.reason;
          return outcome.value;
        });
        for (const { master } of [batch, ...segments]) masters.set(master!.address, master!.connection);
      } else {
        masters.set("redis", connection);
        for (const job of jobs) this.queueSegment(batch, job);
        results = checkResults(await runBatch(batch), chunks.length + STORE_RESULTS + SEGMENT_RESULTS * jobs.length).slice(chunks.length + STORE_RESULTS);
      }
      const drainWaits = jobs.map((job, i) => {
        const waits = this.read(job, results.slice(SEGMENT_RESULTS * i, SEGMENT_RESULTS * (i + 1)));
        job.entry.view.settle(job.usage);
        settled.add(job);
        return waits;
      });
      const unserved = jobs.filter((_, i) => !drainWaits[i]);
      await Promise.all(unserved.map((job) => addDrainJob(job.queue, job.entry.attempts, drainJobId(batchId))));
      if (this.options.replication !== undefined) await confirmReplicas(masters, this.options.replication);
      stored = true;
      for (const job of jobs) job.entry.stored += job.usage.profiles;
      return batchId;
    } catch (cause) {
      // An undo sent after a flush refused unsent would only add to what a stalled connection holds.
      if (!nothingRan) this.track(this.release(batchId, bytes, jobs, unlisted));
      if (cause instanceof ReplicasMissingError) throw cause;
      throw new QueueUnavailableError(`could not store the profiles: ${describe(cause)}`, { cause });
    } finally {
      for (const job of jobs) if (!settled.has(job)) job.entry.view.settle(job.usage);
      this.options.onFlush?.({ profiles: group.length, seconds: (performance.now() - startedAt) / 1000, stored });
    }
  }

  /** Appends a target's segment with its count-in, and asks whether a drain job waits: `SEGMENT_RESULTS` results. */
  private queueSegment(transaction: Transaction, job: TargetJob): void {
    job.pending.queueAppend(transaction, job.listed);
    job.backlog.queueCountIn(transaction, job.usage);
    job.pending.queueDrainWaits(transaction);
  }

  /** Takes the shard's backlog after the count-in from the results of `queueSegment`; returns whether a drain job waits. */
  private read(job: TargetJob, results: unknown[]): boolean {
    job.entry.view.update({ profiles: Number(results[1]), bytes: Number(results[2]) }, job.shard);
    return results[3] === 1;
  }

  /**
   * Undoes a flush whose outcome is unknown (a timeout may have let it through): per target, its
   * segment is taken off the pending list and counted out, unless a drain job claimed it already (then
   * it is delivered: a duplicate of the client's retry, which at-least-once allows), and the claims of
   * the segments taken back are released, which deletes the chunks once no target needs them (chunks
   * whose segments never got stored, on a Cluster, go with their TTL). A drain job the flush added
   * finds nothing to claim, or what later flushes left. Each
   * command follows the flush's MULTI for its slot on the same connection (of the master that serves
   * the slot), so it runs after it if it runs at all. On a Cluster a target in `unlisted` never got
   * its segment (its MULTI, or the batch's, did not run), and lets go of the batch at once.
   */
  private async release(batchId: string, bytes: number, jobs: readonly TargetJob[], unlisted: readonly TargetJob[]): Promise<void> {
    await Promise.all(
      jobs.map(async (job) => {
        const { entry, pending, listed, usage } = job;
        if (unlisted.includes(job) || (await pending.withdraw(listed, usage))) await this.store.releaseBatch({ batch: batchId, bytes }, entry.name);
      }),
    );
  }

  private track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => this.options.onError?.(error)).finally(() => this.cleanups.delete(tracked));
    this.cleanups.add(tracked);
  }
}

/** Names the bounds the target is at, e.g. `target alpha (3 of 3 profiles)`. */
function describeFull(usage: FullTarget, bounds: BacklogBounds): string {
  const limits = [
    bounds.maxProfiles > 0 && usage.profiles >= bounds.maxProfiles ? `${usage.profiles} of ${bounds.maxProfiles} profiles` : undefined,
    bounds.maxBytes > 0 && usage.bytes >= bounds.maxBytes ? `${usage.bytes} of ${bounds.maxBytes} bytes` : undefined,
  ].filter((limit) => limit !== undefined);
  return `target ${usage.target} (${limits.join(", ")})`;
}

/** Results of a target's part of a flush: the segment's RPUSH, the count-in's two HINCRBY, then EXISTS. */
const SEGMENT_RESULTS = 4;

/** EXEC reports a command that failed inside the transaction as a result, not as a rejection. */
function checkResults(results: TransactionResults, expected: number): unknown[] {
  if (results.length !== expected) {
    throw new Error(`the flush's transaction returned ${results.length} results, expected ${expected}`);
  }
  for (const [error] of results) {
    if (error) throw error;
  }
  return results.map(([, value]) => value);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
