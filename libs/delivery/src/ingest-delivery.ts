import type { TargetConfig } from "@pyroscope-relay/config";
import { rewriteIngestQuery } from "@pyroscope-relay/profile";
import type { IngestJobData } from "@pyroscope-relay/queue";
import { PermanentDeliveryError } from "./delivery-error.js";
import { attempt } from "./attempt.js";
import type { TargetClient } from "./target-client.js";

/** Forwards an `/ingest` profile as Alloy does: same body and Content-Type, `name` rewritten. */
export async function deliverIngest(
  client: TargetClient,
  target: TargetConfig,
  job: IngestJobData,
  payload: Uint8Array,
): Promise<void> {
  let query: string;
  try {
    query = rewriteIngestQuery(job.query, target.externalLabels);
  } catch (err) {
    throw new PermanentDeliveryError(`invalid labels: ${(err as Error).message}`, { cause: err });
  }
  const headers = job.contentTypes.flatMap((value) => ["Content-Type", value]);
  await attempt(client, "ingest", { path: "/ingest", query, headers, body: payload, tenant: job.tenant }, target.retryOnHttp429);
}
