import { z } from "zod";

/**
 * What a per-target job carries: a reference to the stored payload plus the request facts the
 * writer needs to rebuild the downstream request. Never the profile bytes themselves.
 */
const common = {
  payloadId: z.string().min(1),
  payloadSize: z.number().int().nonnegative(),
  /** Milliseconds since the epoch at which the ingest app accepted the request. */
  receivedAt: z.number().int(),
  /** The client's `X-Scope-OrgID`, if it sent one. */
  tenant: z.string().optional(),
  /** When an operator last replayed the job: the maximum age counts from here, not from `receivedAt`. */
  replayedAt: z.number().int().optional(),
};

export const ingestJobData = z.object({
  kind: z.literal("ingest"),
  ...common,
  /** The raw query string as received, without the leading `?`. */
  query: z.string(),
  /** Every `Content-Type` header value, in order. */
  contentTypes: z.array(z.string()),
});

export const pushJobData = z.object({
  kind: z.literal("push"),
  ...common,
  /** The payload is always a binary `push.v1.PushRequest`; this records what the client spoke. */
  codec: z.enum(["proto", "json"]),
});

export const jobData = z.discriminatedUnion("kind", [ingestJobData, pushJobData]);

export type IngestJobData = z.infer<typeof ingestJobData>;
export type PushJobData = z.infer<typeof pushJobData>;
export type JobData = z.infer<typeof jobData>;
