import { QueueUnavailableError } from "@pyroscope-relay/queue";
import type { EnqueueData } from "@pyroscope-relay/queue";
import { RequestError } from "./request-error.js";
import type { ReceiverContext } from "./receiver-context.js";

export { tenantOf } from "./tenant.js";

type Api = "ingest" | "push";

/**
 * The longest a client waits for its profile to be stored. The producer connection times a command
 * out after 1.5 s, but the enqueuer then also awaits the release of what it stored, which times out
 * too when Redis hangs (frozen, or its host unreachable): 3 s and more. Past this the client gets
 * its 503; the enqueue runs on, and should it still succeed, the client's retry is a duplicate,
 * which at-least-once delivery allows.
 */
export const ENQUEUE_DEADLINE_MS = 1_800;

/**
 * Stores the payload once and one job per target. Redis trouble becomes a 503 for the client to
 * retry; it never turns into a 200 for something that is not stored.
 */
export async function enqueueOrUnavailable(ctx: ReceiverContext, api: Api, payload: Uint8Array, job: EnqueueData): Promise<void> {
  const component = ctx.config.label;
  try {
    const { payloadId } = await withDeadline(ctx.enqueuer.enqueue(payload, job, ctx.config.targets), ENQUEUE_DEADLINE_MS);
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

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QueueUnavailableError(`Redis did not store the profile within ${ms} ms`)), ms);
  });
  // A late failure of the abandoned enqueue has no one left to answer.
  work.catch(() => undefined);
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
