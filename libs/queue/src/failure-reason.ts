import { z } from "zod";

/**
 * Why a profile failed for good at a target, as the writer decided it: stored with the failed job
 * (in its data), never parsed back out of text.
 */
export const failureReason = z.object({
  /**
   * The kind of failure, what failures are grouped and filtered by: `http 400`,
   * `http 422 invalid_argument`, `connect invalid_argument`, `network ECONNREFUSED`, `timeout`,
   * `expired`, `payload expired`, `invalid labels`, `stalled`, `unreadable claim` (a drain job, see failed-job-scan.ts).
   */
  reason: z.string().min(1),
  /** The HTTP status the target answered, when it answered one. */
  status: z.number().int().optional(),
  /** What tells failures of one kind apart: the start of the response body, or the error's message. */
  detail: z.string(),
});

export type FailureReason = z.infer<typeof failureReason>;

/** The one-line text BullMQ keeps as the job's `failedReason`, for people and BullMQ's own tools. */
export function describeFailure(failure: FailureReason): string {
  return failure.detail === "" ? failure.reason : `${failure.reason}: ${failure.detail}`;
}

/**
 * A failed job's reason when its data carries none: BullMQ failed it by itself (a job that stalled
 * too often), or the data could not be read.
 */
export function reasonFromText(failedReason: string | null | undefined): FailureReason {
  const text = (failedReason ?? "").trim();
  if (/stalled/i.test(text)) return { reason: "stalled", detail: text };
  return { reason: text === "" ? "unknown" : "error", detail: text };
}

/** Which failures an operator picked (replay); an absent field matches everything. */
export interface FailureFilter {
  /** A kind, or the leading words of kinds: `http` matches every `http <status>`, `network` every network error. */
  reason?: string;
  /** `reason` is one kind, matched whole: `http 422` then leaves out `http 422 invalid_argument`. */
  exactReason?: boolean;
  status?: number;
}

export function matchesFailure(failure: FailureReason, filter: FailureFilter): boolean {
  if (filter.status !== undefined && failure.status !== filter.status) return false;
  if (filter.reason === undefined) return true;
  const wanted = filter.reason.trim().toLowerCase();
  const reason = failure.reason.toLowerCase();
  return reason === wanted || (filter.exactReason !== true && reason.startsWith(`${wanted} `));
}

/** Failures that are the same to an operator (one group, one failed job): same kind, status and detail. */
export function sameFailure(a: FailureReason, b: FailureReason): boolean {
  return a.reason === b.reason && a.status === b.status && a.detail === b.detail;
}
