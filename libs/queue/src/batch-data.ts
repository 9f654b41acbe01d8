import { z } from "zod";
import { failureReason } from "./failure-reason.js";

/**
 * What a batch job carries for each profile: where its bytes are and the request facts the writer
 * needs to rebuild the downstream request. Never the bytes themselves.
 */
const common = {
  /** The profile's position in its flush: names it within the batch, and its detached copy. */
  index: z.number().int().nonnegative(),
  /** Where its bytes start in the batch's payload (see payload-layout.ts), and how many there are. */
  offset: z.number().int().nonnegative(),
  size: z.number().int().nonnegative(),
  /** Milliseconds since the epoch at which the ingest app accepted the request. */
  receivedAt: z.number().int(),
  /** The client's `X-Scope-OrgID`, if it sent one. */
  tenant: z.string().optional(),
  /** Parts the target accepted before the profile was split off its batch: a replay skips them. */
  deliveredParts: z.array(z.number().int().nonnegative()).optional(),
};

export const ingestProfileRef = z.object({
  kind: z.literal("ingest"),
  ...common,
  /** The raw query string as received, without the leading `?`. */
  query: z.string(),
  /** Every `Content-Type` header value, in order. */
  contentTypes: z.array(z.string()),
});

export const pushProfileRef = z.object({
  kind: z.literal("push"),
  ...common,
  /** The payload is always a binary `push.v1.PushRequest`; this records what the client spoke. */
  codec: z.enum(["proto", "json"]),
  /** Series in the request: each is a part that a target accepts or refuses on its own. */
  series: z.number().int().positive(),
  /**
   * Its samples and their raw profiles' bytes: what Alloy's pyroscope.write counts of a Push it drops.
   * Absent from the references of earlier versions.
   */
  samples: z.number().int().nonnegative().optional(),
  rawBytes: z.number().int().nonnegative().optional(),
});

export const profileRef = z.discriminatedUnion("kind", [ingestProfileRef, pushProfileRef]);

/** Profiles of one flush for one target: the batch they lie in, and where. */
export const batchSegment = z.object({
  /** The flush the profiles came in: the hash tag of their payload keys. */
  batch: z.string().min(1),
  /** Bytes of the batch's whole payload: its chunks follow from it (payload-layout.ts). */
  bytes: z.number().int().nonnegative(),
  profiles: z.array(profileRef).min(1),
});

/**
 * A segment as a target's pending list and its drain job's claim hold it: the profiles' references
 * are stored once per flush, beside its chunks, whatever the number of targets (batch-store.ts), and
 * the segment names which of them are the target's, as index ranges (`0-17`, `0-3,5`).
 */
export const segmentPointer = z.object({
  batch: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  indices: z.string().min(1),
  /** When its oldest profile arrived: how long the head of a pending list has waited (target-state.ts). */
  receivedAt: z.number().int().optional(),
});

/** An entry of a pending list or a claim: a pointer, or a whole segment as versions before pointers wrote it. */
export const pendingSegment = z.union([batchSegment, segmentPointer]);

/** A job of one batch's profiles: a failed job (or one split off), or a batch job of an earlier version. */
export const batchJobData = batchSegment.extend({
  /** The profiles live in keys of their own (a failed job's), not in the batch's chunks. */
  detached: z.boolean().optional(),
  /** When an operator last replayed the job: the maximum age counts from here, not from `receivedAt`. */
  replayedAt: z.number().int().optional(),
  /** Set on a job that failed for good: a writer that picks it up fails it at once with this. */
  failure: failureReason.optional(),
  /**
   * Split off another job: its batch's chunks are held by that job (a drain job), never by this one,
   * even where it is named after the batch. Absent on a batch job of an earlier version, which held them.
   */
  splitOff: z.literal(true).optional(),
});

/**
 * A target's drain job (see pending-segments.ts): `{ drain: true }`. The segments it claims when it
 * first runs, which it keeps for its whole life, are fields of its hash; `segments` is in the data
 * of the drain jobs of earlier versions only, which kept them here.
 */
export const drainJobData = z.object({
  drain: z.literal(true),
  segments: z.array(batchSegment).optional(),
  /**
   * Why its claim cannot be read back, once a writer found so after BullMQ failed it: it is listed
   * failed then, a batch of unknown profiles, for `purge` and retention to remove.
   */
  unreadable: z.string().optional(),
});

export type IngestProfileRef = z.infer<typeof ingestProfileRef>;
export type PushProfileRef = z.infer<typeof pushProfileRef>;
export type ProfileRef = z.infer<typeof profileRef>;
export type BatchSegment = z.infer<typeof batchSegment>;

/**
 * A segment a drain job claimed whose batch's references are gone (twice the payload TTL passed, or
 * a drain job whose claim a failover lost delivered them): only how many profiles it pointed at.
 */
export interface LostSegment {
  batch: string;
  lost: number;
}

/** A drain job's claim, segment by segment in the order it claimed them. */
export type ClaimedSegment = BatchSegment | LostSegment;

export function isLost(segment: ClaimedSegment): segment is LostSegment {
  return "lost" in segment;
}
export type SegmentPointer = z.infer<typeof segmentPointer>;
export type PendingSegment = z.infer<typeof pendingSegment>;
export type BatchJobData = z.infer<typeof batchJobData>;
export type DrainJobData = z.infer<typeof drainJobData>;

/** What a receiver knows about one profile; the enqueuer adds where its bytes go. */
export type ProfileFacts = ProfileRef extends infer T ? (T extends ProfileRef ? Omit<T, "index" | "offset" | "size" | "deliveredParts"> : never) : never;

/**
 * Profiles and bytes of `refs` as Alloy's pyroscope.write counts what it drops: an `/ingest` body is
 * one profile of its bytes, a Push its samples and their raw profiles' bytes. Of a Push whose series
 * went separate ways (some delivered, some failed in another failed job), a job counts the share of
 * its series it owns (its samples are not kept per series), so that the jobs of one Push count it
 * once between them. A Push reference of an earlier version, without them, counts as those versions
 * counted it: one profile of its stored bytes.
 */
export function alloyCountOf(refs: readonly ProfileRef[]): { profiles: number; bytes: number } {
  let profiles = 0;
  let bytes = 0;
  for (const ref of refs) {
    if (ref.kind === "push" && ref.samples !== undefined && ref.rawBytes !== undefined) {
      const owned = (ref.series - (ref.deliveredParts?.length ?? 0)) / ref.series;
      profiles += Math.round(ref.samples * owned);
      bytes += Math.round(ref.rawBytes * owned);
    } else {
      profiles += 1;
      bytes += ref.size;
    }
  }
  return { profiles, bytes };
}

/** Parts of a profile a target accepts or refuses on its own: Push series, or the whole `/ingest` body. */
export function partsOf(ref: ProfileRef): number {
  return ref.kind === "push" ? ref.series : 1;
}
