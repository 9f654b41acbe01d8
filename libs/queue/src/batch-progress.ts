import { partsOf, type ProfileRef } from "./batch-data.js";
import { failureReason, sameFailure, type FailureReason } from "./failure-reason.js";
import { formatRanges, inRanges, parseRanges } from "./index-ranges.js";

/** Profiles that failed for good in the same way: what one failed job holds. */
export interface FailureGroup {
  failure: FailureReason;
  /** Each profile with `deliveredParts` set to every part that is not this group's to deliver. */
  refs: ProfileRef[];
}

/**
 * The progress a job saves in BullMQ's `progress` field, rewritten whole at each save while its
 * deliveries run: the profiles whose every part is handled, as index ranges (a few bytes for a batch
 * of hundreds), and the parts handled of the others by index. Saves of earlier versions list every
 * profile under `handled`, which is read the same.
 */
interface SavedProgress {
  done?: string;
  handled?: Record<string, number[]>;
  /** Profiles split off into failed jobs at earlier attempts, as index ranges: not delivered, whatever else the job does. */
  split?: string;
  /**
   * Parts that failed for good but were not split off when the attempt ended in an error of the
   * relay's, by failure: tried again by a next attempt, and failed with that reason if none comes.
   */
  unsplit?: { failure: FailureReason; parts: Record<string, number[]> }[];
  /**
   * How many times each profile not done was sent and met a retryable failure, as index ranges by
   * that number (`{"1":"16-31","2":"0-15"}`): a few bytes however many profiles a pause held back.
   * A save without it (an earlier version's) counts none.
   */
  tries?: Record<string, string>;
}

/**
 * What a target has done with a job's profiles: per profile, the parts (Push series, or the whole
 * `/ingest` body) it accepted or that failed for good, and how many times it was sent and met a
 * retryable failure (its share of `max_backoff_retries`). Saved with the job, so that a retry, a
 * replay or another writer after a crash sends only what is left. Pure: no I/O.
 */
export class BatchProgress {
  private readonly handled = new Map<number, Set<number>>();
  private readonly failed: { failure: FailureReason; index: number; parts: number[] }[] = [];
  /** Profiles some of whose parts were split off already (`clearFailures`). */
  private readonly split = new Set<number>();
  /** Failures for good of parts that an earlier attempt saved without splitting them off, by profile and part. */
  private readonly earlier = new Map<number, Map<number, FailureReason>>();
  /** Times each profile was sent and met a retryable failure at earlier attempts. */
  private readonly triedBefore = new Map<number, number>();
  /** Profiles sent at this attempt that met a retryable failure, with the last one each met. */
  private readonly triedNow = new Map<number, FailureReason>();
  private readonly byIndex: Map<number, ProfileRef>;

  private constructor(readonly profiles: readonly ProfileRef[]) {
    this.byIndex = new Map(profiles.map((ref) => [ref.index, ref]));
    for (const ref of profiles) if (ref.deliveredParts !== undefined) this.handled.set(ref.index, new Set(ref.deliveredParts));
  }

  /** The progress of `profiles` as saved in a job's `progress` (anything else counts as none). */
  static restore(profiles: readonly ProfileRef[], saved: unknown): BatchProgress {
    const progress = new BatchProgress(profiles);
    const { done, handled, split, unsplit, tries } = (typeof saved === "object" && saved !== null ? saved : {}) as SavedProgress;
    if (typeof done === "string") {
      const ranges = parseRanges(done);
      for (const ref of profiles) if (inRanges(ranges, ref.index)) progress.handle(ref.index, allParts(ref));
    }
    if (typeof split === "string") {
      const ranges = parseRanges(split);
      for (const ref of profiles) if (inRanges(ranges, ref.index)) progress.split.add(ref.index);
    }
    for (const group of Array.isArray(unsplit) ? unsplit : []) progress.restoreEarlier(group);
    for (const [count, text] of Object.entries(typeof tries === "object" && tries !== null ? tries : {})) {
      const times = Number(count);
      if (!Number.isSafeInteger(times) || times <= 0 || typeof text !== "string") continue;
      const ranges = parseRanges(text);
      for (const ref of profiles) if (inRanges(ranges, ref.index)) progress.triedBefore.set(ref.index, times);
    }
    if (typeof handled !== "object" || handled === null) return progress;
    for (const [index, parts] of Object.entries(handled)) {
      if (Array.isArray(parts))
        progress.delivered(
          Number(index),
          parts.filter((part): part is number => Number.isInteger(part)),
        );
    }
    return progress;
  }

  /** Parts of a profile the target no longer needs: accepted before, or not this job's to deliver. */
  handledParts(index: number): ReadonlySet<number> {
    return this.handled.get(index) ?? NO_PARTS;
  }

  /** Profiles with parts left to deliver, in the job's order. */
  pending(): ProfileRef[] {
    return this.profiles.filter((ref) => !this.isDone(ref));
  }

  delivered(index: number, parts: readonly number[]): void {
    if (this.byIndex.has(index)) this.handle(index, parts);
  }

  /** Parts of a profile that failed for good; they leave this job with a failure group. */
  failedForGood(index: number, parts: readonly number[], failure: FailureReason): void {
    const open = parts.filter((part) => !this.handledParts(index).has(part));
    if (open.length === 0 || !this.byIndex.has(index)) return;
    this.handle(index, open);
    this.failed.push({ failure, index, parts: open });
  }

  /**
   * Parts of a profile were sent and met a retryable failure: one try of the profile at this attempt,
   * however many of its parts (a Push profile's series go out together, as far as the bounds allow).
   */
  retried(index: number, parts: readonly number[], failure: FailureReason): void {
    if (this.byIndex.has(index) && parts.some((part) => !this.handledParts(index).has(part))) this.triedNow.set(index, failure);
  }

  /** Times a profile was sent and met a retryable failure in the job's life, this attempt's try included. */
  tries(index: number): number {
    return (this.triedBefore.get(index) ?? 0) + (this.triedNow.has(index) ? 1 : 0);
  }

  /**
   * Profiles left that were tried `budget` times (the target's `max_backoff_retries`) fail for good:
   * with the last failure each met at this attempt, else with the one an earlier attempt saved for
   * them, else with `failure`.
   */
  failExhausted(budget: number, failure: FailureReason): void {
    for (const ref of this.pending()) {
      if (this.tries(ref.index) < budget) continue;
      const met = this.triedNow.get(ref.index);
      if (met === undefined) this.failRemainingAsBefore([ref], failure);
      else this.failRemaining([ref], met);
    }
  }

  /** Every profile's tries start over: a replay gives the profiles left a full retry budget. */
  forgetTries(): void {
    this.triedBefore.clear();
    this.triedNow.clear();
  }

  /**
   * Whether this attempt stopped short: it tried some profiles (a retryable failure each), and left
   * others pending that it did not try (a pause stopped it before their turn).
   */
  cutShort(): boolean {
    return this.triedNow.size > 0 && this.pending().some((ref) => !this.triedNow.has(ref.index));
  }

  /** Every part still pending fails for good with `failure` (retries used up, stalled, expired). */
  failRemaining(refs: readonly ProfileRef[], failure: FailureReason): void {
    for (const ref of refs)
      this.failedForGood(
        ref.index,
        allParts(ref).filter((part) => !this.handledParts(ref.index).has(part)),
        failure,
      );
  }

  /**
   * Every part still pending fails for good: with the failure an earlier attempt met and saved
   * without splitting it off (its attempt ended in an error of the relay's), else with `failure`.
   */
  failRemainingAsBefore(refs: readonly ProfileRef[], failure: FailureReason): void {
    for (const ref of refs) {
      const open = allParts(ref).filter((part) => !this.handledParts(ref.index).has(part));
      const byFailure = new Map<FailureReason, number[]>();
      for (const part of open) {
        const met = this.earlier.get(ref.index)?.get(part) ?? failure;
        byFailure.set(met, [...(byFailure.get(met) ?? []), part]);
      }
      for (const [met, parts] of byFailure) this.failedForGood(ref.index, parts, met);
    }
  }

  /** The failures so far, one group per distinct failure, largest first. */
  failureGroups(): FailureGroup[] {
    const groups: { failure: FailureReason; parts: Map<number, number[]> }[] = [];
    for (const { failure, index, parts } of this.failed) {
      let group = groups.find((candidate) => sameFailure(candidate.failure, failure));
      if (group === undefined) groups.push((group = { failure, parts: new Map() }));
      group.parts.set(index, [...(group.parts.get(index) ?? []), ...parts]);
    }
    return groups
      .map(({ failure, parts }) => ({
        failure,
        refs: [...parts].map(([index, failedParts]) => {
          const ref = this.byIndex.get(index)!;
          const others = allParts(ref).filter((part) => !failedParts.includes(part));
          const { deliveredParts: _, ...rest } = ref;
          return others.length === 0 ? rest : { ...rest, deliveredParts: others };
        }),
      }))
      .sort((a, b) => b.refs.length - a.refs.length);
  }

  /** Forgets the failures (they were split off into jobs of their own); their parts stay handled. */
  clearFailures(): void {
    for (const { index } of this.failed) this.split.add(index);
    this.failed.length = 0;
  }

  /** Profiles that failed for good in the job's life, split off already or not: what it did not deliver. */
  failedProfiles(): number {
    return new Set([...this.split, ...this.failed.map(({ index }) => index)]).size;
  }

  /**
   * What is saved: the parts handled, but not those that failed for good and are not split off yet.
   * Saved as handled, they would be lost to a crash before the split: the job would count them done
   * and no failed job would hold them. Unsaved, the next attempt tries them again.
   */
  toJSON(): SavedProgress {
    const unsplit = new Map<number, Set<number>>();
    for (const { index, parts } of this.failed) unsplit.set(index, new Set([...(unsplit.get(index) ?? []), ...parts]));
    const done: number[] = [];
    const handled: Record<string, number[]> = {};
    for (const [index, parts] of this.handled) {
      const ref = this.byIndex.get(index);
      if (ref === undefined) continue;
      const saved = [...parts].filter((part) => !unsplit.get(index)?.has(part)).sort((a, b) => a - b);
      if (saved.length >= partsOf(ref)) done.push(index);
      else if (saved.length > 0) handled[String(index)] = saved;
    }
    const unsplitGroups = this.unsplitGroups();
    const tries = this.savedTries(new Set(done));
    return {
      ...(done.length > 0 ? { done: formatRanges(done) } : {}),
      ...(Object.keys(handled).length > 0 ? { handled } : {}),
      ...(this.split.size > 0 ? { split: formatRanges(this.split) } : {}),
      ...(unsplitGroups.length > 0 ? { unsplit: unsplitGroups } : {}),
      ...(Object.keys(tries).length > 0 ? { tries } : {}),
    };
  }

  /** The tries of the profiles not `done`, by their number: a done profile's no longer matter. */
  private savedTries(done: ReadonlySet<number>): Record<string, string> {
    const byCount = new Map<number, number[]>();
    for (const { index } of this.profiles) {
      const tries = this.tries(index);
      if (tries === 0 || done.has(index)) continue;
      const indices = byCount.get(tries) ?? [];
      indices.push(index);
      byCount.set(tries, indices);
    }
    return Object.fromEntries([...byCount].map(([tries, indices]) => [String(tries), formatRanges(indices)]));
  }

  /** This attempt's failures not split off, and an earlier attempt's whose parts are still pending. */
  private unsplitGroups(): NonNullable<SavedProgress["unsplit"]> {
    const groups: NonNullable<SavedProgress["unsplit"]> = [];
    const add = (failure: FailureReason, index: number, parts: readonly number[]) => {
      let group = groups.find((candidate) => sameFailure(candidate.failure, failure));
      if (group === undefined) groups.push((group = { failure, parts: {} }));
      group.parts[String(index)] = [...(group.parts[String(index)] ?? []), ...parts];
    };
    for (const { failure, index, parts } of this.failed) add(failure, index, parts);
    for (const [index, parts] of this.earlier) {
      for (const [part, failure] of parts) if (!this.handledParts(index).has(part)) add(failure, index, [part]);
    }
    return groups;
  }

  private restoreEarlier(group: unknown): void {
    const { failure, parts } = (typeof group === "object" && group !== null ? group : {}) as { failure?: unknown; parts?: unknown };
    const parsed = failureReason.safeParse(failure);
    if (!parsed.success || typeof parts !== "object" || parts === null) return;
    for (const [index, list] of Object.entries(parts)) {
      if (!this.byIndex.has(Number(index)) || !Array.isArray(list)) continue;
      const earlier = this.earlier.get(Number(index)) ?? new Map<number, FailureReason>();
      for (const part of list) if (Number.isInteger(part)) earlier.set(part, parsed.data);
      this.earlier.set(Number(index), earlier);
    }
  }

  private handle(index: number, parts: readonly number[]): void {
    const handled = this.handled.get(index) ?? new Set<number>();
    for (const part of parts) handled.add(part);
    this.handled.set(index, handled);
  }

  private isDone(ref: ProfileRef): boolean {
    return this.handledParts(ref.index).size >= partsOf(ref);
  }
}

/**
 * The parts handled of a profile with none: one set for all, since a job's outgoing profiles hold
 * theirs for as long as it delivers, where a set each outlived young collections.
 */
const NO_PARTS: ReadonlySet<number> = new Set();

function allParts(ref: ProfileRef): number[] {
  return Array.from({ length: partsOf(ref) }, (_, part) => part);
}
