import { type BatchJobData, type BatchSegment, type ClaimedSegment, isLost, type LostSegment, type ProfileRef } from "./batch-data.js";

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

  /** The segments whose profiles it delivers (a lost one of a drain job's claim has none). */
  readonly segments: readonly WorkSegment[];
  /** The segments a drain job claimed whose batch's references were gone: neither delivered nor failed by it. */
  readonly lostSegments: readonly LostSegment[];
  /** Their profiles. */
  readonly lost: number = 0;
  /** Numbered by the job (a claim of several segments), not by their batch. */
  private readonly renumbered: boolean;

  private constructor(
    claimed: readonly (WorkSegment | LostSegment)[],
    /** A drain job: it holds its target's claim on each segment's batch. */
    readonly drain: boolean,
  ) {
    // A lost segment keeps its numbers, so that progress saved before its references went still
    // names the same profiles of the segments after it.
    this.renumbered = claimed.length > 1;
    const segments: WorkSegment[] = [];
    const lostSegments: LostSegment[] = [];
    const profiles: ProfileRef[] = [];
    // Numbers and arrays rather than an object and a key per profile: a drain job's hundreds of
    // profiles keep these for as long as it delivers.
    this.jobIndices = [];
    let next = 0;
    for (const part of claimed) {
      if (isLost(part)) {
        lostSegments.push(part);
        this.lost += part.lost;
        next += part.lost;
        if (this.renumbered) {
          this.positions.push(...new Array<number>(part.lost).fill(-1));
          this.batchIndices.push(...new Array<number>(part.lost).fill(-1));
        }
        continue;
      }
      const position = segments.length;
      segments.push(part);
      const indices = new Map<number, number>();
      for (const ref of part.profiles) {
        const index = this.renumbered ? next++ : ref.index;
        indices.set(ref.index, index);
        if (this.renumbered) {
          this.positions.push(position);
          this.batchIndices.push(ref.index);
        }
        profiles.push(this.renumbered ? { ...ref, index } : ref);
      }
      this.jobIndices.push(indices);
    }
    this.segments = segments;
    this.lostSegments = lostSegments;
    this.profiles = profiles;
  }

  /** The work of a batch job (or a failed one). */
  static ofBatch(data: BatchJobData): JobWork {
    return new JobWork([data], false);
  }

  /** The work of a drain job: the segments it claimed (maybe none), lost ones included, in claim order. */
  static ofDrain(claimed: readonly ClaimedSegment[]): JobWork {
    return new JobWork(claimed, true);
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
    if (this.renumbered) {
      const segment = this.positions[index];
      if (segment !== undefined && segment >= 0) return { segment, index: this.batchIndices[index]! };
    } else if (this.jobIndices[0]?.has(index)) return { segment: 0, index };
    throw new RangeError(`profile ${index} is not in this job`);
  }
}
