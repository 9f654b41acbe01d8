import { QueueUnavailableError } from "@pyroscope-relay/queue";
import type { EnqueueData } from "@pyroscope-relay/queue";
import { RequestError } from "./request-error.js";
import type { ReceiverContext } from "./receiver-context.js";

export { tenantOf } from "./tenant.js";

type Api = "ingest" | "push";

/**
 * Stores the payload once and one job per target. Redis trouble becomes a 503 for the client to
 * retry; it never turns into a 200 for something that is not stored.
 */
export async function enqueueOrUnavailable(ctx: ReceiverContext, api: Api, payload: Uint8Array, job: EnqueueData): Promise<void> {
  const component = ctx.config.label;
  try {
    const { payloadId } = await ctx.enqueuer.enqueue(payload, job, ctx.config.targets);
    ctx.metrics.receivedProfiles.inc({ component, api });
    ctx.metrics.receivedBytes.inc({ component, api }, payload.length);
    ctx.logger.debug({ component, api, payloadId, bytes: payload.length }, "profile stored");
  } catch (err) {
    if (err instanceof QueueUnavailableError) {
      ctx.metrics.enqueueFailures.inc({ component });
      ctx.logger.warn({ component, api, err }, "profile not stored: queue unavailable");
      throw new RequestError("unavailable", "queue unavailable: the profile was not stored, retry later", { cause: err });
    }
    throw err;
  }
}
