import { Code } from "@connectrpc/connect";
import { BacklogFullError, QueueUnavailableError, RedisMemoryFullError, ReplicasMissingError } from "@pyroscope-relay/queue";
import type { EnqueueResult, ProfileFacts } from "@pyroscope-relay/queue";
import { RequestError } from "@pyroscope-relay/ops";
import type { ReceiverContext } from "./receiver-context.js";

type Api = "ingest" | "push";

/** A profile's facts as the receivers give them: a Push's with its samples and their raw profiles' bytes. */
type ReceivedFacts = Extract<ProfileFacts, { kind: "ingest" }> | (Extract<ProfileFacts, { kind: "push" }> & { samples: number; rawBytes: number });

/**
 * The longest a client waits for its profile to be stored. The producer connection times a command
 * out after 1.5 s, but a profile may first wait for the flush ahead of its own, which times out too
 * when Redis hangs (frozen, or its host unreachable): 3 s and more. Past this the client gets its
 * 503. A profile still waiting for its flush is withdrawn then (nothing of it is stored, and it no
 * longer holds the process' memory); one whose flush is under way runs on, and should that still
 * succeed, the client's retry is a duplicate, which at-least-once delivery allows.
 */
export const ENQUEUE_DEADLINE_MS = 1_800;

/** A full backlog drains at the target's pace: retrying sooner only adds refusals. */
export const BACKLOG_FULL_RETRY_AFTER_S = 10;

/** Memory frees as the writers deliver; a little slower than a Redis blip. */
export const MEMORY_FULL_RETRY_AFTER_S = 5;

/** A replica comes back, or a failover gives the master one, within seconds. */
export const REPLICAS_MISSING_RETRY_AFTER_S = 5;

/**
 * Stores the profile with its flush: the payload once, a batch job per target. Redis trouble becomes
 * a 503 for the client to retry, a full backlog under policy `reject` a 429; neither ever turns into a
 * 200 for something that is not stored. Targets that dropped the profile (policy `drop`) are counted
 * and logged here, once the answer is 200 (a 503's retry would count them again).
 */
export async function enqueueOrUnavailable(ctx: ReceiverContext, api: Api, payload: Uint8Array, facts: ReceivedFacts): Promise<void> {
  const component = ctx.config.label;
  let result: EnqueueResult;
  try {
    result = await withDeadline(ctx.enqueuer.enqueue(payload, facts, ctx.config.targets, Date.now() + ENQUEUE_DEADLINE_MS), ENQUEUE_DEADLINE_MS);
  } catch (err) {
    if (err instanceof BacklogFullError) {
      throw backlogFull(ctx, err);
    }
    if (err instanceof QueueUnavailableError) {
      ctx.metrics.enqueueFailures.inc({ component });
      ctx.warnings.warn(`unavailable:${component}`, { component, api, err }, "profiles not stored: queue unavailable");
      if (err instanceof ReplicasMissingError) {
        throw new RequestError(
          Code.Unavailable,
          "queue unavailable: too few Redis replicas online to store the profile durably; it was not stored, retry later",
          {
            cause: err,
            retryAfterSeconds: REPLICAS_MISSING_RETRY_AFTER_S,
          },
        );
      }
      const retryAfterSeconds = err instanceof RedisMemoryFullError ? MEMORY_FULL_RETRY_AFTER_S : undefined;
      throw new RequestError(Code.Unavailable, "queue unavailable: the profile is not acknowledged, retry later", { cause: err, retryAfterSeconds });
    }
    throw err;
  }
  // Lost for good: Alloy's dropped counts an `/ingest` body as one profile of its bytes, a Push as its
  // samples and their raw profiles' bytes; the relay's own counters count what would have been stored.
  const lost = facts.kind === "push" ? { profiles: facts.samples, bytes: facts.rawBytes } : { profiles: 1, bytes: payload.length };
  for (const full of result.dropped) {
    ctx.metrics.backlogFull.inc({ target: full.target, policy: "drop" });
    ctx.metrics.backlogDroppedProfiles.inc({ target: full.target });
    ctx.metrics.backlogDroppedBytes.inc({ target: full.target }, payload.length);
    const labels = { target: full.target, endpoint: ctx.endpointOf(full.target), reason: "backlog_full" };
    ctx.metrics.writeDroppedProfiles.inc(labels, lost.profiles);
    ctx.metrics.writeDroppedBytes.inc(labels, lost.bytes);
    ctx.warnings.warn(
      `backlog:${full.target}`,
      { target: full.target, policy: "drop", backlogProfiles: full.profiles, backlogBytes: full.bytes },
      "target backlog full: profiles dropped for this target",
    );
  }
  if (result.queued.length === 0) {
    ctx.logger.debug({ component, api, bytes: payload.length }, "profile dropped: every target's backlog is full");
    return;
  }
  ctx.metrics.receivedProfiles.inc({ component, api });
  ctx.metrics.receivedBytes.inc({ component, api }, payload.length);
  ctx.logger.debug({ component, api, batchId: result.batchId, bytes: payload.length, targets: result.queued }, "profile stored");
}

/** 429 with Retry-After: the request is refused for every target, nothing stored. */
function backlogFull(ctx: ReceiverContext, err: BacklogFullError): RequestError {
  for (const full of err.targets) {
    ctx.metrics.backlogFull.inc({ target: full.target, policy: "reject" });
    ctx.warnings.warn(
      `backlog:${full.target}`,
      { target: full.target, policy: "reject", backlogProfiles: full.profiles, backlogBytes: full.bytes },
      "target backlog full: requests rejected with 429",
    );
  }
  const message = `${err.message}: the profile was not stored, retry later`;
  return new RequestError(Code.ResourceExhausted, message, { cause: err, retryAfterSeconds: BACKLOG_FULL_RETRY_AFTER_S });
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
