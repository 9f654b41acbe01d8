import { classifyError, classifyResponse } from "./retry-policy.js";
import { parseRetryAfter } from "./retry-after.js";
import { PermanentDeliveryError, RetryableDeliveryError } from "./delivery-error.js";
import type { TargetClient, TargetRequest } from "./target-client.js";

/**
 * Transport errors that mean nobody is answering at the target's address; only these open the
 * circuit. A timeout is a slow target, and anything else (a TLS or argument error) is a plain retry.
 */
const unreachableReasons = new Set(
  ["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED"].map(
    (code) => `network ${code}`,
  ),
);

/**
 * One HTTP attempt against a target, turned into success or a typed delivery error whose reason
 * records the status and the start of the response body.
 */
export async function attempt(
  client: TargetClient,
  api: "ingest" | "push",
  req: TargetRequest,
  retryOnHttp429: boolean,
): Promise<void> {
  let response;
  try {
    response = await client.send(req);
  } catch (err) {
    const outcome = classifyError(err);
    if (outcome.kind === "permanent") {
      throw new PermanentDeliveryError(outcome.reason, { cause: err });
    }
    const reason = outcome.kind === "retry" ? outcome.reason : "unknown";
    throw new RetryableDeliveryError(reason, undefined, { cause: err, unreachable: unreachableReasons.has(reason) });
  }
  const outcome = classifyResponse({ api, status: response.status, body: response.bodyStart, retryOnHttp429 });
  if (outcome.kind === "delivered") {
    return;
  }
  const reason = response.bodyStart ? `${outcome.reason}: ${response.bodyStart.trim()}` : outcome.reason;
  if (outcome.kind === "permanent") {
    throw new PermanentDeliveryError(reason);
  }
  throw new RetryableDeliveryError(reason, parseRetryAfter(response.retryAfter, Date.now()));
}
