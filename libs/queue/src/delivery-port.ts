import type { ProfileRef } from "./batch-data.js";
import type { FailureReason } from "./failure-reason.js";

/** One profile of a batch, loaded, for a delivery attempt. */
export interface OutgoingProfile {
  ref: ProfileRef;
  payload: Buffer;
  /** Parts (Push series) the target needs no more: accepted before, or another job's to deliver. */
  handledParts: ReadonlySet<number>;
}

/** What a delivery tells the job about each profile as its requests end. */
export interface DeliveryReport {
  /** The target accepted these parts of the profile. */
  delivered(index: number, parts: readonly number[]): void;
  /** The target refused these parts for good: they are split off into a failed job with `failure`. */
  failed(index: number, parts: readonly number[], failure: FailureReason): void;
  /**
   * The target was sent these parts and the request failed in a way worth retrying (an error answer,
   * a timeout, a connection lost under it): a try of the profile's `max_backoff_retries`. Not for a
   * target nobody answers at (its failures use none) nor a request shutdown cut short.
   */
  retried(index: number, parts: readonly number[], failure: FailureReason): void;
  /**
   * Every request of the attempt has started (or none will), and the target could take another
   * request now: the next drain job may claim. Until then, or until the attempt ends, it waits, so
   * that what arrives meanwhile goes out together.
   */
  dispatched(): void;
}

/** How a delivery attempt ended for the parts it reported neither delivered nor failed. */
export interface AttemptOutcome {
  /** They may pass later: the job is retried after a backoff, using an attempt. */
  retry?: FailureReason;
  /**
   * The target asked for a pause (Retry-After), keeps answering errors, or cannot be reached: the
   * target's queue pauses this long, and the job goes back to waiting.
   */
  pauseMs?: number;
  /**
   * The target answered (it asked for the pause, or keeps erring): the profiles it was sent count a
   * try each (`DeliveryReport.retried`), so that a target that refuses them for ever cannot hold
   * them past `max_backoff_retries`; the job uses an attempt once every profile left was sent.
   */
  pauseUsesAttempt?: boolean;
}

/**
 * Sends a job's profiles to one target and classifies the answers (libs/delivery implements it). It
 * reports every profile's parts as delivered or failed, or leaves them to the outcome; it stops
 * early when `signal` aborts (shutdown) and says so by leaving them.
 */
export type BatchDelivery = (profiles: readonly OutgoingProfile[], report: DeliveryReport, signal: AbortSignal) => Promise<AttemptOutcome>;
