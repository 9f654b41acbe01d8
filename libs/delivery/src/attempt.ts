import type { FailureReason } from "@pyroscope-relay/queue";
import { ClientError } from "./client-errors.js";
import { classifyError, classifyResponse } from "./retry-policy.js";
import { parseRetryAfter } from "./retry-after.js";
import type { TargetClient, TargetRequest } from "./target-client.js";

/**
 * How one request to a target ended, with what the retry decision needs: a failure that may pass
 * later says how long the target asked us to wait and whether anybody answered at all.
 */
export type AttemptResult =
  | { kind: "delivered" }
  | { kind: "permanent"; failure: FailureReason }
  | { kind: "retry"; failure: FailureReason; retryAfterMs?: number; unreachable: boolean };

/**
 * Transport errors that mean nobody is answering at the target's address; only these open the
 * circuit. A timeout is a slow target, and anything else (a TLS or argument error) is a plain retry.
 */
const unreachableReasons = new Set(
  ["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED"].map(
    (code) => `network ${code}`,
  ),
);

/** One HTTP request to a target, classified; the failure records the status and the start of the response body. */
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
    // The relay's own errors name the file or endpoint at fault (never a secret).
    if (error instanceof ClientError) {
      return { kind: "retry", failure: { reason: error.reason, detail: error.message }, unreachable: error.unreachable };
    }
    // A transport error has no answer to quote; its message may name the endpoint's address.
    const failure = { reason: classifyError(error).reason, detail: "" };
    return { kind: "retry", failure, unreachable: unreachableReasons.has(failure.reason) };
  }
  const outcome = classifyResponse({
    api,
    status: response.status,
    body: response.bodyStart,
    retryOnHttp429,
    retryUnauthenticated: client.renewsCredentials,
  });
  if (outcome.kind === "delivered") return outcome;
  const failure = { reason: outcome.reason, status: response.status, detail: response.bodyStart.trim() };
  if (outcome.kind === "permanent") return { kind: "permanent", failure };
  const retryAfterMs = parseRetryAfter(response.retryAfter, Date.now());
  return { kind: "retry", failure, unreachable: false, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
}
