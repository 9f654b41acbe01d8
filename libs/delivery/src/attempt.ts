import { DeliveryError, type DeliveryFailure } from "./delivery-error.js";
import { classifyError, classifyResponse, isUnreachable } from "./retry-policy.js";
import { parseRetryAfter } from "./retry-after.js";
import type { TargetClient, TargetRequest } from "./target-client.js";

/** How one request to a target ended. */
export type AttemptResult = { kind: "delivered" } | DeliveryFailure;

/**
 * One HTTP request to a target, its answer or error classified: the one place a DeliveryFailure is
 * built. An answer's failure records the status and the start of the response body.
 */
export async function attempt(
  client: TargetClient,
  api: "ingest" | "push",
  request: TargetRequest,
  retryOnHttp429: boolean,
  signal: AbortSignal,
): Promise<AttemptResult> {
  let response;
  try {
    response = await client.send(request, signal);
  } catch (error) {
    // The relay's own errors name the file or endpoint at fault (never a secret); a transport
    // error has no answer to quote, and its message may name the endpoint's address.
    const detail = error instanceof DeliveryError ? error.message : "";
    return { kind: "retry", failure: { reason: classifyError(error).reason, detail }, unreachable: isUnreachable(error) };
  }
  const outcome = classifyResponse({
    api,
    status: response.status,
    body: response.bodyStart,
    contentType: response.contentType,
    retryOnHttp429,
    retryUnauthenticated: client.renewsCredentials,
  });
  if (outcome.kind === "delivered") return outcome;
  // The answer as the target wrote it decides; what the failure quotes of it leaves out the credentials sent.
  const ruleDetail = outcome.kind === "retry" ? outcome.detail : undefined;
  const failure = {
    reason: outcome.reason,
    status: response.status,
    detail:
      ruleDetail === undefined
        ? client.withoutCredentials(response.bodyStart, response, response.bodyCut).trim()
        : client.withoutCredentials(ruleDetail, response, false),
  };
  if (outcome.kind === "permanent") return { kind: "permanent", failure, unreachable: false, ...(outcome.refusesContent ? { refusesContent: true } : {}) };
  const retryAfterMs = parseRetryAfter(response.retryAfter, Date.now());
  return { kind: "retry", failure, unreachable: false, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
}
