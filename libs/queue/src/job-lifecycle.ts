import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { ErrorCode } from "bullmq";
import type { RedisConnection } from "./redis-connection.js";
import { alloyCountOf, type BatchJobData, type ClaimedSegment, batchJobData, drainJobData, partsOf, type ProfileRef } from "./batch-data.js";
import { addDrainJob, attemptsOf, batchJobOptions, DRAIN_JOB_IDS, type BatchJob } from "./batch-job.js";
import { BatchProgress, type FailureGroup } from "./batch-progress.js";
import { BatchStore } from "./batch-store.js";
import type { UnreadableClaimError } from "./errors.js";
import type { FailedJob } from "./failed-job-scan.js";
import type { FailureReason } from "./failure-reason.js";
import type { JobWork, WorkSegment } from "./job-work.js";
import { LuaScript } from "./lua-script.js";
import { type Claim, DRAIN_BOUNDS, PendingSegments } from "./pending-segments.js";
import type { SharedChunks } from "./shared-chunks.js";
import { type BacklogUsage, COUNT_OUT_LUA, TargetBacklog, usageOf } from "./target-backlog.js";
import { BATCH_JOB_NAME, targetQueue, type TargetQueue } from "./target-queue.js";

// KEYS: the queue's failed set, the job hash, its logs, its lock, the target's backlog hash, its totals
// hash. ARGV: job id, why (purge, retention), its profiles and bytes as Alloy counts them dropped, when
// it failed as the caller saw it. Removes a failed job nobody holds that has not failed again since: out
// of `failed` (the claim a replay contends for), counted out of the backlog if it still counts (by what
// its hash says it counted in, not by ARGV), its keys deleted, its profiles and bytes added to the
// discarded totals. 1 when it removed it.
const discardFailed = new LuaScript(
  "job_discard_failed",
  `${COUNT_OUT_LUA}
if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
if tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1])) ~= tonumber(ARGV[5]) then return 0 end
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
countOut(KEYS[5], KEYS[2])
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HINCRBY', KEYS[6], 'discarded_profiles:' .. ARGV[2], ARGV[3])
redis.call('HINCRBY', KEYS[6], 'discarded_bytes:' .. ARGV[2], ARGV[4])
return 1
`,
);

// KEYS: failed set, job hash, backlog hash. ARGV: job id, its score in the failed set as the caller
// read it, the data to set (JSON), "1" to count the job out with it. Sets the data of a failed job
// only while it is the failure the caller read (1); one that failed again since (another replay moved
// it, and a writer failed it anew) is counted out, as its writer's failure did before this replay
// counted it in (0); one not failed at all (moved by another replay) is left alone (0); one removed
// (a purge, retention) is gone (-1).
const setFailedData = new LuaScript(
  "job_set_failed_data",
  `${COUNT_OUT_LUA}
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 0 end
if tonumber(score) ~= tonumber(ARGV[2]) then
  countOut(KEYS[3], KEYS[2])
  return 0
end
redis.call('HSET', KEYS[2], 'data', ARGV[3])
if ARGV[4] == '1' then countOut(KEYS[3], KEYS[2]) end
return 1
`,
);

/** Waits before each new try of a release that failed (see `releaseRetrying`). */
const RELEASE_RETRY_DELAYS_MS = [1_000, 5_000, 15_000];

/** Why a failed job was discarded: an operator's purge, or retention (`--queue.failed-max-age`, `-count`). */
export type DiscardReason = "purge" | "retention";

/** A drain job in the queue's `failed` set, and when it failed (its score there). */
export interface FailedDrain {
  id: string;
  failedAt: number;
  /** A writer found its claim unreadable: it is listed failed, no writer splits it off. */
  unreadable: boolean;
}

export interface JobLifecycleOptions {
  connection: RedisConnection;
  prefix: string;
  target: string;
  /** The target's queue shard whose jobs this is (0 by default). */
  shard?: number;
  /** Batch chunks read once for every target of the process (see SharedChunks). */
  sharedChunks?: SharedChunks;
}

/** A failed job split off another: its id, and its profiles as its batch names them. */
export interface SplitOff {
  id: string;
  refs: ProfileRef[];
  failure: FailureReason;
}

/** What happened to one failed job that an operator replayed. */
export type ReplayOutcome =
  /** Back to waiting with a full retry budget (or, in a dry run, would be). */
  | "replayed"
  /** Its stored profiles are gone (TTL or purge): left in `failed`. */
  | "skipped"
  /** Another replay or a purge took it first. */
  | "notMatched";

export interface Discarded {
  removed: boolean;
  /** Profiles it held as stored (a Push request is one), lost for good; the discarded totals count them as Alloy does. */
  profiles: number;
  /** Stored profiles deleted with it because no other job held them. */
  payloadsDeleted: number;
}

/**
 * Every change in the life of the jobs of a target's queue (shard), over what Redis holds for them: the
 * segments a drain job claims, its target's claim on their batches' chunks (a drain job's, or a batch
 * job's of an earlier version, whose id is the batch id) or a job's claims on detached copies (a failed
 * job, or one split off), the target's backlog counters, and the TTLs. Each step is idempotent, so a
 * crash that repeats it (a writer recovering a stalled job) does no harm.
 */
export class JobLifecycle {
  readonly queue: TargetQueue;
  private readonly store: BatchStore;
  private readonly backlog: TargetBacklog;
  private readonly pending: PendingSegments;
  /** Set by `close`: a release that failed is not tried again. */
  private closing = false;

  constructor(private readonly options: JobLifecycleOptions) {
    this.queue = targetQueue(options.connection, options.prefix, options.target, { shard: options.shard });
    this.store = new BatchStore(options.connection, options.prefix, options.sharedChunks);
    this.backlog = new TargetBacklog(options.connection, options.prefix, options.target, options.shard);
    this.pending = new PendingSegments(options.connection, options.prefix, options.target, options.shard);
    discardFailed.define(options.connection);
    setFailedData.define(options.connection);
  }

  get target(): string {
    return this.options.target;
  }

  /**
   * The segments drain job `job` delivers: those waiting when it first runs (up to `DRAIN_BOUNDS`),
   * the same ones on every later run. Undefined when the job is gone.
   */
  async claim(job: BatchJob): Promise<Claim | undefined> {
    const claim = await this.pending.claim(job.id!, DRAIN_BOUNDS);
    if (claim === undefined) return undefined;
    return { claimed: await this.store.resolve(job.id!, claim.entries), more: claim.more };
  }

  /**
   * What drain job `jobId` claimed; undefined when it is gone or claimed nothing yet.
   * @throws UnreadableClaimError when it claimed, but its claim or its batches' references cannot be read
   */
  async claimed(jobId: string): Promise<ClaimedSegment[] | undefined> {
    const entries = await this.pending.claimed(jobId);
    return entries === undefined ? undefined : this.store.resolve(jobId, entries);
  }

  /**
   * Adds a drain job when segments wait (BullMQ deduplicates it against one that has not claimed
   * yet): for segments a drain job left beyond its bounds, or a writer that died before adding one.
   */
  async drainPending(attempts: number): Promise<void> {
    if ((await this.pending.waiting()) > 0) await addDrainJob(this.queue, attempts);
  }

  /**
   * Drain job `job` lets the next flush add a drain job of its own (it ends its deduplication before
   * its claim): while it waits in a process, the segments that come meanwhile wait for a job that any
   * writer can take.
   */
  releaseDeduplication(job: BatchJob): Promise<void> {
    return this.pending.releaseDeduplication(job.id!);
  }

  /**
   * The bytes of `refs` (the job's profiles) by their index in the job, the chunks of all its batches
   * read together (see `BatchStore.loadAll`); a profile whose bytes are gone is left out.
   */
  async load(work: JobWork, refs: readonly ProfileRef[]): Promise<Map<number, Buffer>> {
    const pieces = work.bySegment(refs);
    const loaded = new Map<number, Buffer>();
    (await this.store.loadAll(pieces)).forEach((bytesByIndex, i) => {
      for (const [index, bytes] of bytesByIndex) loaded.set(work.jobIndex(pieces[i]!.position, index), bytes);
    });
    return loaded;
  }

  /**
   * The job is done: its profiles are delivered, or handed to jobs split off it. It lets go of what it
   * holds and leaves the backlog; the profiles it counted in add to the target's delivered total, but
   * `failed` (those split off it, at any attempt) and those it claimed without their references (`lost`). The commands are sent at once and in order on the
   * worker's connection, ahead of BullMQ's completion of the job, so the caller need not wait for them.
   */
  complete(job: BatchJob, work: JobWork, failed = 0): Promise<void> {
    return Promise.all([this.releaseRetrying(job, whole(work.segments), work.drain), this.backlog.countOutDelivered(job.id!, failed + work.lost)]).then(
      () => undefined,
    );
  }

  /**
   * The release of a job that is gone (completed, or discarded), again a few times if it fails: on a
   * Cluster its batches may be on another master than its queue, down while the job went on the
   * queue's (a failover takes 15 s and more), and nothing else would let go of them before their TTL.
   * Releasing again is harmless. Resolves with how many profiles' bytes were deleted.
   */
  private async releaseRetrying(job: BatchJob, parts: readonly HeldPart[], drain = false): Promise<number> {
    for (let retry = 0; ; retry++) {
      try {
        return await this.releaseHeld(job, parts, drain);
      } catch (error) {
        const delayMs = RELEASE_RETRY_DELAYS_MS[retry];
        if (delayMs === undefined || this.closing) throw error;
        await sleep(delayMs, undefined, { ref: false });
      }
    }
  }

  /**
   * Splits the profiles of `group` (the job's) off `job` into failed jobs of their own, one per batch
   * they lie in, each holding copies of them for at least `keepMs`; a writer fails each at once with
   * the group's failure. `named` (a drain job's last attempt) holds the batches whose failed job is
   * named after the batch already: the first group of a batch to fail takes that name, as the failed
   * batch job of earlier versions did.
   */
  async splitOff(job: BatchJob, work: JobWork, group: FailureGroup, keepMs: number, named?: Set<string>): Promise<SplitOff[]> {
    const splits: SplitOff[] = [];
    for (const { segment, refs } of work.bySegment(group.refs)) {
      // A part fails for good in one group only, once in a job's life (a batch's profiles are in one
      // drain job per target): its first part names the split, and a split repeated after a crash
      // finds its job already added. One cut short (a crash, a Redis error) may be done again with
      // other groups, whose name a job of other profiles has taken (BullMQ would keep that job and
      // drop this one): what that job does not hold is split off in a job named after its profiles.
      const [first] = refs as [ProfileRef];
      const base = work.drain ? segment.batch : job.id!;
      const preferred = named !== undefined && !named.has(segment.batch) ? segment.batch : `${base}.${first.index}.${firstFailedPart(first)}`;
      named?.add(segment.batch);
      let split = await this.unheld(preferred, base, refs);
      while (split !== undefined) {
        await this.store.detach(segment, split.refs, this.holder(split.id), keepMs);
        const data: BatchJobData = { batch: segment.batch, bytes: segment.bytes, profiles: split.refs, detached: true, failure: group.failure, splitOff: true };
        // At the head of the queue: until a writer fails it, it is not listed as failed.
        await this.queue.add(BATCH_JOB_NAME, data, { ...batchJobOptions(split.id, attemptsOf(job)), lifo: true });
        // BullMQ keeps a job whose id is taken and drops the add: another writer splitting the same
        // job at once (its lock lost) may have taken the name since `unheld` looked. What that job
        // does not hold goes out under a name of its own (the claims taken under the other's name
        // keep those copies until their TTL, rather than risk one that job needs).
        const left = await this.unheld(split.id, base, split.refs);
        if (left === undefined) {
          splits.push({ ...split, failure: group.failure });
          break;
        }
        split = left;
      }
    }
    return splits;
  }

  /**
   * The split of `refs` to add: as `preferred` when no job has that id; when one has, the parts of
   * `refs` it does not hold, as `<base>.<digest of them>` (undefined when it holds them all).
   */
  private async unheld(preferred: string, base: string, refs: ProfileRef[]): Promise<{ id: string; refs: ProfileRef[] } | undefined> {
    const data = await this.options.connection.hget(this.queue.toKey(preferred), "data");
    if (data === null) return { id: preferred, refs };
    const held = heldParts(data);
    const left = refs.flatMap((ref) => {
      const parts = failedParts(ref).filter((part) => held.get(ref.index)?.has(part) !== true);
      if (parts.length === 0) return [];
      return [{ ...ref, deliveredParts: allParts(ref).filter((part) => !parts.includes(part)) }];
    });
    if (left.length === 0) return undefined;
    return { id: `${base}.${createHash("sha256").update(profilesKey(left)).digest("hex").slice(0, 16)}`, refs: left };
  }

  /**
   * The drain jobs in the queue's `failed` set: BullMQ failed them by themselves, and a
   * writer that dies before it has split them off leaves them there, holding their claims.
   */
  async failedDrains(): Promise<FailedDrain[]> {
    const drains = new Map<string, number>();
    let cursor = "0";
    do {
      const [next, entries] = await this.options.connection.zscan(this.queue.toKey("failed"), cursor, "MATCH", DRAIN_JOB_IDS, "COUNT", 1_000);
      // Members and scores alternate; ZSCAN may return a member twice.
      for (let i = 0; i + 1 < entries.length; i += 2) drains.set(entries[i]!, Number(entries[i + 1]));
      cursor = next;
    } while (cursor !== "0");
    const ids = [...drains.keys()];
    const data = await Promise.all(ids.map((id) => this.options.connection.hget(this.queue.toKey(id), "data")));
    return ids.map((id, i) => ({ id, failedAt: drains.get(id)!, unreadable: markedUnreadable(data[i] ?? null) }));
  }

  /**
   * A failed drain job whose claim cannot be read back (`error`): nothing of it can be split off, so
   * it is listed failed as it is, a batch of unknown profiles, for `purge` and retention to remove.
   * Its claim's chunks live until their TTL.
   */
  async markUnreadable(job: BatchJob, error: UnreadableClaimError): Promise<void> {
    await job.updateData({ drain: true, unreadable: error.message });
  }

  /**
   * A drain job that BullMQ failed by itself (it stalled too often): its undelivered profiles, `failed`
   * of them, were split off into failed jobs; it lets go of what it holds, leaves the backlog (what it
   * delivered before adds to the delivered total, as at a completion, its lost ones not) and goes.
   */
  async removeFailedDrain(job: BatchJob, work: JobWork, failed: number): Promise<void> {
    await this.releaseHeld(job, whole(work.segments), true);
    await this.backlog.countOutDelivered(job.id!, failed + work.lost);
    await job.remove();
  }

  /**
   * `job` fails for good with the profiles of `group`, which it keeps as copies of its own for at
   * least `keepMs`; the rest of its profiles (`done`) it lets go of. The caller then fails it in
   * BullMQ (or BullMQ did already).
   */
  async fail(job: BatchJob, data: BatchJobData, group: FailureGroup, done: readonly ProfileRef[], keepMs: number): Promise<void> {
    await this.store.detach(data, group.refs, this.holder(job.id!), keepMs);
    await job.updateData({ ...data, profiles: group.refs, detached: true, failure: group.failure });
    await this.releaseHeld(job, [{ segment: data, profiles: done }]);
    await this.backlog.countOut(job.id!);
  }

  /**
   * A job whose data says it failed: repeats the end of `fail`, which a crash may have cut short, and
   * keeps its copies at least `keepMs` from now (a split-off job may have waited behind a paused
   * queue since its copies were made). A split-off job holds nothing else and was never counted in:
   * the batch it is named after may still be its drain job's, which splits further failures off it.
   */
  async settleFailed(job: BatchJob, data: BatchJobData, keepMs: number): Promise<void> {
    if (data.detached === true) await this.store.detach(data, data.profiles, this.holder(job.id!), keepMs);
    if (job.id === data.batch && data.splitOff !== true) await this.store.releaseBatch(data, this.target);
    await this.backlog.countOut(job.id!);
  }

  /** Whether a replay would move a failed job (a dry run): as `replay`, it needs some of its profiles' bytes. */
  replayable(data: BatchJobData): Promise<boolean> {
    return this.store.replayable(data);
  }

  /**
   * Moves a failed job back to waiting with a full retry budget: it holds its profiles again, which
   * live `payloadTtlMs` from now, it counts in the backlog again (no bound: the operator decided),
   * and the maximum age counts from now. Profiles it already delivered stay delivered. A job that
   * failed again since the caller read it (`failedAt`: replayed meanwhile, and failed anew with
   * other data) is not the job the caller decided on: "notMatched".
   */
  async replay({ job, data, failedAt }: FailedJob & { data: BatchJobData }, payloadTtlMs: number): Promise<ReplayOutcome> {
    if (Number(await this.options.connection.zscore(this.queue.toKey("failed"), job.id!)) !== failedAt) return "notMatched";
    // Hold first: a writer could otherwise deliver and release before the claim exists, leaving a
    // claim nobody releases (the bytes would stay until their TTL).
    if ((await this.store.reclaim(data, this.target, this.holder(job.id!), payloadTtlMs)) === 0) return "skipped";
    await this.backlog.countIn(job.id!, usageOf(data.profiles));
    try {
      // A detached job says in its profiles what is left to deliver; progress it made before may
      // name parts that failed, which must go out again. Any other keeps what it delivered, but not
      // its profiles' tries: each gets a full retry budget. Reset before its `failure` goes, so that
      // a replay cut short in between is done again in full by the next one.
      const progress = BatchProgress.restore(data.profiles, data.detached === true ? undefined : job.progress);
      progress.forgetTries();
      await job.updateProgress(progress.toJSON());
      const { failure: _, ...rest } = data;
      const set = await this.setFailedData(job.id!, failedAt, { ...rest, replayedAt: Date.now() }, false);
      // Removed since the check (and counted out with it): the hold taken above is nobody's.
      if (set === "gone") await this.releaseHeld(job, whole([data]));
      if (set !== "set") return "notMatched";
      // A fresh start for BullMQ's stalled-job limit too, which retry() leaves as it was.
      await this.options.connection.hdel(this.queue.toKey(job.id!), "stc");
      await job.retry("failed", { resetAttemptsMade: true });
      return "replayed";
    } catch (error) {
      // Another replay moved it first (it counts once: counting in is idempotent, and the hold is
      // the same job's), or a purge or retention removed it (and counted it out with it) after the
      // check above: then the hold taken is nobody's, and would keep its copies alive until their TTL.
      const code = (error as { code?: unknown }).code;
      if (code === ErrorCode.JobNotExist) await this.releaseHeld(job, whole([data]));
      if (code === ErrorCode.JobNotExist || code === ErrorCode.JobNotInState) return "notMatched";
      // Cut short before the move (the connection dropped, say): the job, still failed, says why
      // again and counts out, so that `failed` lists it and the next replay finds it as before.
      await this.setFailedData(job.id!, failedAt, data, true).catch(() => undefined);
      throw error;
    }
  }

  /** setFailedData's script: the job, still the failure read at `failedAt`, took `data`; or it is another, or gone. */
  private async setFailedData(id: string, failedAt: number, data: BatchJobData, countOut: boolean): Promise<"set" | "other" | "gone"> {
    const keys = [this.queue.toKey("failed"), this.queue.toKey(id), this.backlog.key];
    const result = await setFailedData.run(this.options.connection, keys, [id, failedAt, JSON.stringify(data), countOut ? "1" : "0"]);
    return result === 1 ? "set" : result === -1 ? "gone" : "other";
  }

  /**
   * The profiles and bytes a failed job holds, as stored. A drain job whose claim cannot be read still
   * knows what it counts in the backlog: all there is to count of it.
   */
  async usageOf({ job, data }: Pick<FailedJob, "job" | "data">): Promise<BacklogUsage> {
    return data === undefined ? this.backlog.countedBy(job.id!) : usageOf(data.profiles);
  }

  /**
   * Removes a failed job and lets go of what it holds; the bytes no other job holds are deleted. Its
   * profiles are lost for good: they count in the target's discarded totals under `reason`, as Alloy
   * counts what it drops (`alloyCountOf`), for `pyroscope_write_dropped_*`.
   * Taking it out of the failed set is the atomic claim (with its removal and counting out, in one
   * script): a replay that moved it to waiting meanwhile wins, and the job is left alone. The job
   * goes before its bytes: when the process dies in between, their TTL reclaims them, while the
   * other order could leave a job without its profiles; a release that fails (the bytes' master down
   * a moment, on a Cluster) is tried again, as a completed job's is. A job that failed again since the caller read
   * it (`failedAt`) is left alone too: it is not the failure the caller decided on.
   */
  async discard({ job, data, failedAt }: FailedJob, reason: DiscardReason): Promise<Discarded> {
    const id = job.id!;
    const keys = [
      this.queue.toKey("failed"),
      this.queue.toKey(id),
      `${this.queue.toKey(id)}:logs`,
      `${this.queue.toKey(id)}:lock`,
      this.backlog.key,
      this.backlog.totalsKey,
    ];
    const stored = await this.usageOf({ job, data });
    const dropped = data === undefined ? stored : alloyCountOf(data.profiles);
    if ((await discardFailed.run(this.options.connection, keys, [id, reason, dropped.profiles, dropped.bytes, failedAt])) !== 1) {
      // The script may have run already, its reply lost (ioredis sends a command again after a
      // reconnect, a Cluster's to the promoted replica): a job that is gone lets go of its copies,
      // which no one else would. Releases are idempotent, so a discard by another process is no harm.
      if (data !== undefined && (await this.options.connection.exists(this.queue.toKey(id))) === 0) {
        await this.releaseRetrying(job, whole([data]));
      }
      return { removed: false, profiles: 0, payloadsDeleted: 0 };
    }
    if (data === undefined) return { removed: true, profiles: stored.profiles, payloadsDeleted: 0 };
    return { removed: true, profiles: stored.profiles, payloadsDeleted: await this.releaseRetrying(job, whole([data])) };
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.queue.close();
  }

  /**
   * Lets go of the job's `profiles` in each part's segment: a batch's chunks as a whole (only the
   * target's drain job, or batch job whose id is the batch id, holds them, and only while it refers
   * to them), all of them in one script per hash slot, or its claims on their detached copies, a
   * script per segment. The commands go out at once, in order. Returns how many profiles' bytes were
   * deleted.
   */
  private async releaseHeld(job: BatchJob, parts: readonly HeldPart[], drain = false): Promise<number> {
    const copies = parts.filter(({ segment }) => segment.detached === true);
    const batches = parts.filter(({ segment }) => segment.detached !== true && (drain || job.id === segment.batch)).map(({ segment }) => segment);
    const [copiesDeleted, batchesDeleted] = await Promise.all([
      Promise.all(
        copies.map(({ segment, profiles }) =>
          this.store.releaseDetached(
            segment.batch,
            profiles.map((ref) => ref.index),
            this.holder(job.id!),
          ),
        ),
      ),
      this.store.releaseBatches(batches, this.target),
    ]);
    return (
      copiesDeleted.reduce((sum, deleted) => sum + deleted, 0) + batches.reduce((sum, segment, i) => sum + (batchesDeleted[i] ? segment.profiles.length : 0), 0)
    );
  }

  /** The claim a job holds on a detached copy: one per job, since a profile's parts may be in several. */
  private holder(jobId: string): string {
    return `${jobId}@${this.target}`;
  }
}

/** Some of a job's profiles in one of its segments. */
interface HeldPart {
  segment: WorkSegment;
  profiles: readonly ProfileRef[];
}

/** Every profile of each segment. */
function whole(segments: readonly WorkSegment[]): HeldPart[] {
  return segments.map((segment) => ({ segment, profiles: segment.profiles }));
}

/** The profiles and parts of `refs`, in a form that digests. */
function profilesKey(refs: readonly ProfileRef[]): string {
  return refs.map((ref) => `${ref.index}:${(ref.deliveredParts ?? []).join("/")}`).join(",");
}

function allParts(ref: ProfileRef): number[] {
  return Array.from({ length: partsOf(ref) }, (_, part) => part);
}

/** The parts of `ref` a job holding it is to deliver: those not delivered. */
function failedParts(ref: ProfileRef): number[] {
  return allParts(ref).filter((part) => ref.deliveredParts?.includes(part) !== true);
}

/** The parts each profile of a job's data (BullMQ's JSON) holds; none when it does not parse. */
function heldParts(json: string): Map<number, Set<number>> {
  let parsed;
  try {
    parsed = batchJobData.safeParse(JSON.parse(json));
  } catch {
    return new Map();
  }
  return new Map(parsed.success ? parsed.data.profiles.map((ref) => [ref.index, new Set(failedParts(ref))]) : []);
}

/** The first part of `ref` that its failure group holds: the first one not listed as delivered. */
function firstFailedPart(ref: ProfileRef): number {
  let part = 0;
  while (ref.deliveredParts?.includes(part)) part++;
  return part;
}

/** Whether a drain job's data (BullMQ's JSON) says its claim cannot be read back. */
function markedUnreadable(json: string | null): boolean {
  if (json === null) return false;
  try {
    return drainJobData.safeParse(JSON.parse(json)).data?.unreadable !== undefined;
  } catch {
    return false;
  }
}
