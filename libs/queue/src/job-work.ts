import type { BatchJobData, BatchSegment, ProfileRef } from "./batch-data.js";

/** One batch's share of a job's work: a segment a drain job claimed, or a batch job's data. */
export type WorkSegment = BatchSegment & Pick<BatchJobData, "detached">;

/** Profiles of a job that lie in one of its segments, as that segment names them. */
export interface SegmentPiece {
  segment: WorkSegment;
  /** The segment's position in the job. */
  position: number;
  refs: ProfileRef[];
}

/**
 * What a job delivers: the profiles of one batch (a batch job), or of every segment a drain job
 * claimed. A profile's index names it within its batch; across the batches of a drain job the job
 * numbers them itself, in order, so that progress and failure groups (keyed by index) see each profile
 * once. A job of one segment keeps the batch's indices, which earlier versions saved progress under.
 * Pure: no I/O.
 */
export class JobWork {
  /** Every profile of the job, under the job's index. */
  readonly profiles: readonly ProfileRef[];
  private readonly origin = new Map<number, { segment: number; index: number }>();
  /** The job's index by segment position and batch index. */
  private readonly byOrigin = new Map<string, number>();

  private constructor(
    readonly segments: readonly WorkSegment[],
    /** A drain job: it holds its target's claim on each segment's batch. */
    readonly drain: boolean,
  ) {
    const renumber = segments.length > 1;
    const profiles: ProfileRef[] = [];
    segments.forEach((segment, position) => {
      for (const ref of segment.profiles) {
        const index = renumber ? profiles.length : ref.index;
        this.origin.set(index, { segment: position, index: ref.index });
        this.byOrigin.set(`${position}:${ref.index}`, index);
        profiles.push(renumber ? { ...ref, index } : ref);
      }
    });
    this.profiles = profiles;
  }

  /** The work of a batch job (or a failed one). */
  static ofBatch(data: BatchJobData): JobWork {
    return new JobWork([data], false);
  }

  /** The work of a drain job: the segments it claimed (maybe none). */
  static ofDrain(segments: readonly BatchSegment[]): JobWork {
    return new JobWork(segments, true);
  }

  /** `refs` (under the job's indices) by segment, under their batch's indices, in segment order. */
  bySegment(refs: readonly ProfileRef[]): SegmentPiece[] {
    const pieces = new Map<number, ProfileRef[]>();
    for (const ref of refs) {
      const origin = this.originOf(ref.index);
      const piece = pieces.get(origin.segment) ?? [];
      piece.push({ ...ref, index: origin.index });
      pieces.set(origin.segment, piece);
    }
    return [...pieces].sort(([a], [b]) => a - b).map(([position, pieceRefs]) => ({ segment: this.segments[position]!, position, refs: pieceRefs }));
  }

  /** The job's index of profile `index` (its batch's) of the segment at `position`. */
  jobIndex(position: number, index: number): number {
    const jobIndex = this.byOrigin.get(`${position}:${index}`);
    if (jobIndex === undefined) throw new RangeError(`profile ${index} is not in segment ${position} of this job`);
    return jobIndex;
  }

  private originOf(index: number): { segment: number; index: number } {
    const origin = this.origin.get(index);
    if (origin === undefined) throw new RangeError(`profile ${index} is not in this job`);
    return origin;
  }
}
