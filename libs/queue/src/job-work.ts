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
  /** Per segment position: each of its profiles' batch index to the job's index. */
  private readonly jobIndices: Map<number, number>[];
  /** Renumbered: the segment position of the job's index `i` at `i` (its batch index is `batchIndices[i]`). */
  private readonly positions: number[] = [];
  private readonly batchIndices: number[] = [];

  private constructor(
    readonly segments: readonly WorkSegment[],
    /** A drain job: it holds its target's claim on each segment's batch. */
    readonly drain: boolean,
    /** Profiles a drain job claimed whose batch's references were gone: neither delivered nor failed by it. */
    readonly lost = 0,
  ) {
    const renumber = segments.length > 1;
    const profiles: ProfileRef[] = [];
    // Numbers and arrays rather than an object and a key per profile: a drain job's hundreds of
    // profiles keep these for as long as it delivers.
    this.jobIndices = segments.map((segment, position) => {
      const indices = new Map<number, number>();
      for (const ref of segment.profiles) {
        const index = renumber ? profiles.length : ref.index;
        indices.set(ref.index, index);
        if (renumber) {
          this.positions.push(position);
          this.batchIndices.push(ref.index);
        }
        profiles.push(renumber ? { ...ref, index } : ref);
      }
      return indices;
    });
    this.profiles = profiles;
  }

  /** The work of a batch job (or a failed one). */
  static ofBatch(data: BatchJobData): JobWork {
    return new JobWork([data], false);
  }

  /** The work of a drain job: the segments it claimed (maybe none), and how many profiles it claimed without their references. */
  static ofDrain(segments: readonly BatchSegment[], lost = 0): JobWork {
    return new JobWork(segments, true, lost);
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
    const jobIndex = this.jobIndices[position]?.get(index);
    if (jobIndex === undefined) throw new RangeError(`profile ${index} is not in segment ${position} of this job`);
    return jobIndex;
  }

  private originOf(index: number): { segment: number; index: number } {
    if (this.segments.length > 1) {
      const segment = this.positions[index];
      if (segment !== undefined) return { segment, index: this.batchIndices[index]! };
    } else if (this.jobIndices[0]?.has(index)) return { segment: 0, index };
    throw new RangeError(`profile ${index} is not in this job`);
  }
}
