import type { FailureReason, IngestProfileRef } from "@pyroscope-relay/queue";
import type { QueryRewrite } from "./ingest-queries.js";
import type { TargetRequest } from "./target-client.js";

/**
 * The downstream request for an `/ingest` profile, as Alloy forwards it: the same body and every
 * Content-Type value, `name` rewritten with the target's external labels (`rewrite`). Labels the
 * target cannot take are a failure for good (`invalid labels`).
 */
export function ingestRequest(rewrite: QueryRewrite, ref: IngestProfileRef, payload: Buffer): TargetRequest | FailureReason {
  let query: string;
  try {
    query = rewrite(ref.query);
  } catch (error) {
    return { reason: "invalid labels", detail: (error as Error).message };
  }
  const headers = ref.contentTypes.flatMap((value) => ["Content-Type", value]);
  return { path: "/ingest", query, headers, body: payload, tenant: ref.tenant };
}
