import { setTimeout as sleep } from "node:timers/promises";
import { refreshSlots } from "./cluster-masters.js";
import { isCluster, type RedisConnection } from "./redis-connection.js";
import { profileRef, type BatchJobData, type ClaimedSegment, type PendingSegment, type ProfileRef } from "./batch-data.js";
import { UnreadableClaimError } from "./errors.js";
import { inRanges, parseRanges } from "./index-ranges.js";
import { batchClaimsKey, batchRefsKey, chunkKey, detachedClaimsKey, detachedProfileKey } from "./keys.js";
import { LuaScript } from "./lua-script.js";
import { groupBySlot } from "./slot-groups.js";
import { ChunkLayout } from "./payload-layout.js";
import type { SharedChunks } from "./shared-chunks.js";
import type { Transaction } from "./transaction.js";

// KEYS: per batch, its claims set, then its chunk keys and its references. ARGV: target, then per
// batch the number of those keys. An empty set does not exist in Redis, so EXISTS on it tells whether
// any target still needs the chunks; without claims they are deleted. Returns per batch 1 when this
// release deleted them.
const releaseBatches = new LuaScript(
  "batches_release",
  `
local deleted = {}
local claims = 1
for batch = 2, #ARGV do
  local chunks = tonumber(ARGV[batch])
  redis.call('SREM', KEYS[claims], ARGV[1])
  deleted[batch - 1] = 0
  if chunks > 0 and redis.call('EXISTS', KEYS[claims]) == 0 and redis.call('DEL', unpack(KEYS, claims + 1, claims + chunks)) > 0 then
    deleted[batch - 1] = 1
  end
  claims = claims + chunks + 1
end
return deleted
`,
);

// KEYS: the chunk keys the profiles lie in, then a (copy, claims) pair per profile. ARGV: holder,
// TTL (ms), the number of chunk keys, a (start, size) pair per chunk key, then an (offset, size) pair
// per profile. Copies each profile out of the chunks into a key of its own (unless a copy exists:
// another job detached it first), adds the holder's claim, and makes both live at least the TTL.
// Returns, per profile, 1 when it is detached and 0 when its bytes are gone.
const detach = new LuaScript(
  "batch_detach",
  `
local holder, ttl, chunkCount = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local function copyOut(offset, length)
  local parts = {}
  for i = 1, chunkCount do
    local start, size = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
    if start < offset + length and start + size > offset then
      local from = math.max(0, offset - start)
      local to = math.min(size, offset + length - start) - 1
      local part = redis.call('GETRANGE', KEYS[i], from, to)
      if #part ~= to - from + 1 then return nil end
      parts[#parts + 1] = part
    end
  end
  local bytes = table.concat(parts)
  if #bytes ~= length then return nil end
  return bytes
end
local function lengthen(key)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
local result = {}
local profiles = (#KEYS - chunkCount) / 2
local firstProfileArg = 4 + 2 * chunkCount
for p = 1, profiles do
  local copy, claims = KEYS[chunkCount + 2 * p - 1], KEYS[chunkCount + 2 * p]
  local offset, length = tonumber(ARGV[firstProfileArg + 2 * p - 2]), tonumber(ARGV[firstProfileArg + 2 * p - 1])
  local present = redis.call('EXISTS', copy) == 1
  if not present then
    local bytes = copyOut(offset, length)
    if bytes then
      redis.call('SET', copy, bytes, 'PX', ttl)
      present = true
    end
  end
  if present then
    redis.call('SADD', claims, holder)
    lengthen(copy)
    lengthen(claims)
    result[p] = 1
  else
    result[p] = 0
  end
end
return result
`,
);

// KEYS: a (copy, claims) pair per profile. ARGV: holder. A copy nobody holds any more is deleted.
const releaseDetached = new LuaScript(
  "detached_release",
  `
local deleted = 0
for p = 1, #KEYS / 2 do
  local copy, claims = KEYS[2 * p - 1], KEYS[2 * p]
  redis.call('SREM', claims, ARGV[1])
  if redis.call('EXISTS', claims) == 0 then deleted = deleted + redis.call('DEL', copy) end
end
return deleted
`,
);

// KEYS: a (copy, claims) pair per profile. ARGV: holder, TTL (ms). Replay: the job holds the copies
// again, and they live the TTL from now. Returns, per profile, 1 when the copy exists and 0 when not.
const reclaimDetached = new LuaScript(
  "detached_reclaim",
  `
local result = {}
for p = 1, #KEYS / 2 do
  local copy, claims = KEYS[2 * p - 1], KEYS[2 * p]
  if redis.call('EXISTS', copy) == 1 then
    redis.call('SADD', claims, ARGV[1])
    redis.call('PEXPIRE', copy, ARGV[2])
    redis.call('PEXPIRE', claims, ARGV[2])
    result[p] = 1
  else
    result[p] = 0
  end
end
return result
`,
);

// KEYS: claims set, then every chunk key. ARGV: target, TTL (ms). Replay of a job that still refers to
// its batch's chunks: the target holds them again, for the TTL from now. 0 when they are gone.
const reclaimBatch = new LuaScript(
  "batch_reclaim",
  `
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then return 0 end
end
redis.call('SADD', KEYS[1], ARGV[1])
for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
return 1
`,
);

/**
 * How long a drain job waits, on a Cluster, before it reads again the references of batches that
 * read as gone (see `resolve`): longer than a resumed master takes to learn of its failover.
 */
export const GONE_RECHECK_MS = 1_000;

/**
 * The chunk bytes one read of a job's payloads asks for at most: Redis copies a command's whole reply
 * before it serves another client, so a read of a whole job (up to 16 MiB) would hold every flush
 * behind it for as long.
 */
const READ_MAX_BYTES = 1024 * 1024;

/** `items` in runs of consecutive ones whose `sizeOf` adds up to at most `max` (a larger item alone). */
function upTo<T>(max: number, items: readonly T[], sizeOf: (item: T) => number): T[][] {
  const runs: T[][] = [];
  let size = 0;
  for (const item of items) {
    const last = runs.at(-1);
    if (last === undefined || size + sizeOf(item) > max) {
      runs.push([item]);
      size = sizeOf(item);
    } else {
      last.push(item);
      size += sizeOf(item);
    }
  }
  return runs;
}

/** Some profiles of one batch (or of a failed job's detached copies) that a job loads. */
export interface LoadPiece {
  segment: Pick<BatchJobData, "batch" | "bytes" | "detached">;
  refs: readonly ProfileRef[];
}

/**
 * A batch's payload in Redis: the chunks every target's batch job reads, with the set of targets
 * whose job still needs them, and the copies of profiles detached from the batch for failed jobs,
 * each with the set of jobs (`<job id>@<target>`) holding it. The last claim's release deletes the bytes; both carry a
 * TTL against leaks. Every operation touches the keys of one batch only: one Cluster slot.
 */
export class BatchStore {
  /** @param shared chunks read by the other targets' jobs of this process, read once for all of them. */
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly shared?: SharedChunks,
  ) {
    for (const script of [releaseBatches, detach, releaseDetached, reclaimDetached, reclaimBatch]) script.define(redis);
  }

  /**
   * Adds to `transaction` what stores a batch: its chunks, its profiles' references, and the claims of
   * the targets that need it (`STORE_RESULTS` results more than the chunks). The references and the
   * claims outlive the chunks (twice their TTL; the last claim's release deletes all): a job that runs
   * after its bytes expired still knows what it had, and lists those profiles failed as `payload
   * expired`; and a target whose job ran first cannot, by finding no claims left, delete the
   * references another target's job still needs.
   */
  queueStore(
    transaction: Transaction,
    batchId: string,
    chunks: readonly Buffer[],
    refs: readonly ProfileRef[],
    targets: readonly string[],
    ttlMs: number,
  ): void {
    chunks.forEach((chunk, index) => transaction.add("set", chunkKey(this.prefix, batchId, index), chunk, "PX", ttlMs));
    transaction.add("set", batchRefsKey(this.prefix, batchId), JSON.stringify(refs), "PX", 2 * ttlMs);
    transaction.add("sadd", batchClaimsKey(this.prefix, batchId), ...targets);
    transaction.add("pexpire", batchClaimsKey(this.prefix, batchId), 2 * ttlMs);
  }

  /**
   * The segments of drain job `jobId`'s pending entries: a pointer gets its profiles from its batch's
   * references, read in one round trip per hash slot (once per process for all its targets, with the
   * shared chunks); a whole segment (written by an earlier version) is as it is. A pointer whose
   * batch's references are gone (twice the payload TTL, or released by a drain job whose claim a
   * failover lost, which delivered them) cannot be delivered: it resolves to a LostSegment, with the
   * number of profiles it pointed at, so that the segments claimed with it still go out. On a Cluster
   * one is only taken as gone once it reads so again `GONE_RECHECK_MS` later.
   * @throws UnreadableClaimError when a batch's references do not parse or lack the profiles pointed at
   */
  async resolve(jobId: string, entries: readonly PendingSegment[]): Promise<ClaimedSegment[]> {
    const batches = [...new Set(entries.flatMap((entry) => ("indices" in entry ? [entry.batch] : [])))];
    const refs = new Map<string, Buffer | null>();
    await this.readRefs(batches, refs, this.shared);
    const gone = batches.filter((batch) => refs.get(batch) === null);
    if (gone.length > 0 && isCluster(this.redis)) {
      // A master stopped and replaced by its replica answers, as it resumes, what was sent to it
      // meanwhile from its data of before, until it learns within moments that it is a master no
      // longer: a batch stored since on the new master would read as gone, its profiles dropped.
      // Read once more, past that, from where the renewed slot map says (or its MOVED).
      await sleep(GONE_RECHECK_MS);
      await refreshSlots(this.redis).catch(() => undefined);
      await this.readRefs(gone, refs);
    }
    return entries.map((entry): ClaimedSegment => {
      if (!("indices" in entry)) return entry;
      const stored = refs.get(entry.batch);
      const ranges = parseRanges(entry.indices);
      if (stored === null || stored === undefined) return { batch: entry.batch, lost: ranges.reduce((sum, [first, last]) => sum + last - first + 1, 0) };
      const profiles = parseRefs(jobId, entry.batch, stored).filter((ref) => inRanges(ranges, ref.index));
      if (profiles.length === 0) throw new UnreadableClaimError(jobId, `batch ${entry.batch} has none of the profiles ${entry.indices}`);
      return { batch: entry.batch, bytes: entry.bytes, profiles };
    });
  }

  /** Reads the references of `batches` into `refs` (null for one gone), a round trip per hash slot, through `shared` if given. */
  private async readRefs(batches: readonly string[], refs: Map<string, Buffer | null>, shared?: SharedChunks): Promise<void> {
    await Promise.all(
      groupBySlot(this.redis, batches, (batch) => batchRefsKey(this.prefix, batch)).map(async (group) => {
        const keys = group.map(({ item }) => batchRefsKey(this.prefix, item));
        const read = (missing: readonly string[]) => this.redis.mgetBuffer(...missing);
        const values = shared === undefined ? await read(keys) : await shared.read(keys, read);
        group.forEach(({ item }, i) => refs.set(item, values[i] ?? null));
      }),
    );
  }

  /** The bytes of `refs` by profile index, in one round trip; a profile whose bytes are gone is left out. */
  async load(data: BatchJobData, refs: readonly ProfileRef[]): Promise<Map<number, Buffer>> {
    return (await this.loadAll([{ segment: data, refs }]))[0]!;
  }

  /**
   * For each piece, the bytes of its `refs` by profile index: the chunks of every batch together, a
   * read per hash slot (one on one Redis) and `READ_MAX_BYTES`, the copies of a detached piece in one
   * read of their own. A job of many small batches (flushes of a profile or two, at a low rate) costs
   * Redis a command per MiB, not one per batch. A profile whose bytes are gone is left out.
   */
  async loadAll(pieces: readonly LoadPiece[]): Promise<Map<number, Buffer>[]> {
    const loaded = pieces.map(() => new Map<number, Buffer>());
    const chunks = pieces.map(() => new Map<number, Buffer>());
    // Per piece in the batch's chunks, where they lie; undefined for a detached or empty piece.
    const layouts = pieces.map(({ segment, refs }) => (segment.detached === true || refs.length === 0 ? undefined : new ChunkLayout(segment.bytes)));
    const wanted = pieces.flatMap(({ segment, refs }, piece) => {
      const layout = layouts[piece];
      if (layout === undefined) return [];
      const covering = new Set(refs.flatMap((ref) => layout.covering(ref.offset, ref.size)));
      return [...covering].map((chunk) => ({ piece, chunk, key: chunkKey(this.prefix, segment.batch, chunk), bytes: layout.size(chunk) }));
    });
    const read = (keys: readonly string[]) => this.redis.mgetBuffer(...keys);
    await Promise.all([
      ...pieces.map(({ segment, refs }, piece) =>
        segment.detached === true && refs.length > 0 ? this.loadDetached(segment.batch, refs, loaded[piece]!) : undefined,
      ),
      ...groupBySlot(this.redis, wanted, ({ key }) => key)
        .flatMap((group) => upTo(READ_MAX_BYTES, group, ({ item }) => item.bytes))
        .map(async (group) => {
          const keys = group.map(({ item }) => item.key);
          const values = this.shared === undefined ? await read(keys) : await this.shared.read(keys, read);
          group.forEach(({ item }, i) => {
            const value = values[i];
            if (value !== null && value !== undefined) chunks[item.piece]!.set(item.chunk, value);
          });
        }),
    ]);
    pieces.forEach(({ refs }, piece) => {
      const layout = layouts[piece];
      if (layout === undefined) return;
      for (const ref of refs) {
        const bytes = layout.cut(chunks[piece]!, ref.offset, ref.size);
        if (bytes !== undefined) loaded[piece]!.set(ref.index, bytes);
      }
    });
    return loaded;
  }

  private async loadDetached(batch: string, refs: readonly ProfileRef[], into: Map<number, Buffer>): Promise<void> {
    const copies = await this.redis.mgetBuffer(...refs.map((ref) => detachedProfileKey(this.prefix, batch, ref.index)));
    refs.forEach((ref, i) => {
      const bytes = copies[i];
      if (bytes !== null && bytes !== undefined) into.set(ref.index, bytes);
    });
  }

  /** Whether `reclaim` would find what a (failed) job needs: every chunk of its batch, or some of its copies. */
  async replayable(data: BatchJobData): Promise<boolean> {
    if (data.detached !== true) {
      const chunks = this.chunkKeys(data);
      return chunks.length === 0 || (await this.redis.exists(...chunks)) === chunks.length;
    }
    return (await this.redis.exists(...data.profiles.map((ref) => detachedProfileKey(this.prefix, data.batch, ref.index)))) > 0;
  }

  /** Drops `target`'s claim on the batch; the last claim deletes the chunks (true). Idempotent. */
  async releaseBatch(data: Pick<BatchJobData, "batch" | "bytes">, target: string): Promise<boolean> {
    const [deleted] = await this.releaseBatches([data], target);
    return deleted!;
  }

  /**
   * `releaseBatch` for every batch of `batches`, in order, in a script per hash slot: one on a single
   * Redis, whatever the number of batches (a drain job's release costs Redis one call, not one per
   * batch). Returns per batch whether its chunks were deleted.
   */
  async releaseBatches(batches: readonly Pick<BatchJobData, "batch" | "bytes">[], target: string): Promise<boolean[]> {
    const deleted: boolean[] = [];
    await Promise.all(
      groupBySlot(this.redis, batches, (data) => batchClaimsKey(this.prefix, data.batch)).map(async (group) => {
        const chunks = group.map(({ item }) => [...this.chunkKeys(item), batchRefsKey(this.prefix, item.batch)]);
        const keys = group.flatMap(({ item }, i) => [batchClaimsKey(this.prefix, item.batch), ...chunks[i]!]);
        const replies = (await releaseBatches.run(this.redis, keys, [target, ...chunks.map((keys) => keys.length)])) as number[];
        group.forEach(({ position }, i) => {
          deleted[position] = replies[i] === 1;
          if (deleted[position]) this.shared?.forget(chunks[i]!);
        });
      }),
    );
    return deleted;
  }

  /**
   * Gives `holder` (a failed job) copies of `refs` in keys of their own, living at least `ttlMs`: cut
   * out of the batch's chunks, unless `data` is detached already (or another job made the copy
   * first). Returns the indices whose bytes were gone.
   */
  async detach(data: Pick<BatchJobData, "batch" | "bytes" | "detached">, refs: readonly ProfileRef[], holder: string, ttlMs: number): Promise<number[]> {
    if (refs.length === 0) return [];
    const layout = new ChunkLayout(data.bytes);
    const chunks = data.detached === true ? [] : [...new Set(refs.flatMap((ref) => layout.covering(ref.offset, ref.size)))];
    const keys = [
      ...chunks.map((index) => chunkKey(this.prefix, data.batch, index)),
      ...this.copyKeys(
        data.batch,
        refs.map((ref) => ref.index),
      ),
    ];
    const args = [
      holder,
      ttlMs,
      chunks.length,
      ...chunks.flatMap((index) => [layout.start(index), layout.size(index)]),
      ...refs.flatMap((ref) => [ref.offset, ref.size]),
    ];
    const present = (await detach.run(this.redis, keys, args)) as number[];
    return refs.filter((_, i) => present[i] !== 1).map((ref) => ref.index);
  }

  /** Drops `holder`'s claims on detached copies; a copy nobody holds is deleted (counted). Idempotent. */
  async releaseDetached(batchId: string, indices: readonly number[], holder: string): Promise<number> {
    if (indices.length === 0) return 0;
    return (await releaseDetached.run(this.redis, this.copyKeys(batchId, indices), [holder])) as number;
  }

  /**
   * Replay: the job holds its profiles again (the batch's chunks as `target`, or its detached copies
   * as `holder`), and they live `ttlMs` from now. Returns how many profiles still have their bytes
   * (0: nothing changed).
   */
  async reclaim(data: BatchJobData, target: string, holder: string, ttlMs: number): Promise<number> {
    if (data.detached !== true) {
      const reclaimed = await reclaimBatch.run(this.redis, [batchClaimsKey(this.prefix, data.batch), ...this.chunkKeys(data)], [target, ttlMs]);
      return reclaimed === 1 ? data.profiles.length : 0;
    }
    const present = (await reclaimDetached.run(
      this.redis,
      this.copyKeys(
        data.batch,
        data.profiles.map((ref) => ref.index),
      ),
      [holder, ttlMs],
    )) as number[];
    return present.filter((one) => one === 1).length;
  }

  private chunkKeys(data: Pick<BatchJobData, "batch" | "bytes">): string[] {
    return Array.from({ length: new ChunkLayout(data.bytes).count }, (_, index) => chunkKey(this.prefix, data.batch, index));
  }

  private copyKeys(batchId: string, indices: readonly number[]): string[] {
    return indices.flatMap((index) => [detachedProfileKey(this.prefix, batchId, index), detachedClaimsKey(this.prefix, batchId, index)]);
  }
}

/** Results `queueStore` adds to a transaction besides one per chunk: the references, the claims and their TTL. */
export const STORE_RESULTS = 3;

const storedRefs = profileRef.array().min(1);

function parseRefs(jobId: string, batch: string, stored: Buffer): ProfileRef[] {
  let json: unknown;
  try {
    json = JSON.parse(stored.toString("utf8"));
  } catch {
    json = undefined;
  }
  const parsed = storedRefs.safeParse(json);
  if (!parsed.success) throw new UnreadableClaimError(jobId, `the references of batch ${batch} do not parse`);
  return parsed.data;
}
