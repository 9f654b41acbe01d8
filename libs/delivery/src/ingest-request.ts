import type { DroppedProfile } from "@pyroscope-relay/profile";
import type { FailureReason, IngestProfileRef } from "@pyroscope-relay/queue";
import type { QueryRewrite } from "./ingest-queries.js";
import type { TargetRequest } from "./target-client.js";

/**
 * The downstream request for an `/ingest` profile, as Alloy forwards it: the same body, its
 * Content-Type, `name` rewritten with the target's relabel rules and external labels (`rewrite`), or
 * none when a relabel rule dropped it. Labels the target cannot take are a failure for good (`invalid labels`). Of several Content-Type values only the
 * first goes, the one Pyroscope reads (Go's `Header.Get`): over HTTP/2 undici would join them into
 * one value, which Pyroscope cannot parse.
 */
export function ingestRequest(rewrite: QueryRewrite, ref: IngestProfileRef, payload: Buffer): TargetRequest | FailureReason | DroppedProfile {
  let query: string | DroppedProfile;
  try {
    query = rewrite(ref.query);
  } catch (error) {
    return { reason: "invalid labels", detail: (error as Error).message };
  }
  if (typeof query !== "string") return query;
  const headers = ref.contentTypes.slice(0, 1).flatMap((value) => ["Content-Type", value]);
  return { path: "/ingest", query, headers, body: payload, tenant: ref.tenant };
}
