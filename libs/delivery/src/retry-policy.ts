// Which failed deliveries are worth another attempt: Alloy's `pyroscope.write` rules, plus the
// transient 422s of Pyroscope's /ingest, which Alloy treats as permanent.

import { DeliveryError } from "./delivery-error.js";

/**
 * The rules' verdict on one request: delivered, or how it failed and its reason (`http 503`), with
 * a detail where the answer's body does not say what went wrong.
 */
export type Outcome =
  | { kind: "delivered" }
  | { kind: "retry"; reason: string; detail?: string }
  | {
      kind: "permanent";
      reason: string;
      /** A Push the target refused for what it carries (a series it will not take), not for being sent at all. */
      refusesContent?: true;
    };

/** The facts of one downstream answer. */
export interface DeliveryResponse {
  api: "ingest" | "push";
  status: number;
  /** The response body as text (an error body is small; callers may cut it short). */
  body: string;
  /** The answer's `Content-Type`: a Push 200 is a Connect answer only as `application/proto`. */
  contentType?: string;
  /** `retry_on_http_429` of the endpoint. */
  retryOnHttp429: boolean;
  /**
   * A 401 (Push: `unauthenticated`) is retried: the credentials are renewed before the next attempt
   * (read again from their file, or a new oauth2 token), so a rotation never fails a profile for good.
   */
  retryUnauthenticated?: boolean;
}

const connectCodes = [
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
] as const;
type ConnectCode = (typeof connectCodes)[number];
const knownCodes: ReadonlySet<string> = new Set(connectCodes);

/**
 * Permanent Push codes that can be about one series of the request: only these are worth narrowing a
 * combined Push down to the series at fault (an `unauthenticated` or `unimplemented` would answer
 * every half the same).
 */
const contentCodes: ReadonlySet<ConnectCode> = new Set(["invalid_argument", "failed_precondition", "out_of_range", "already_exists"]);

/** Alloy's shouldRetry; resource_exhausted depends on `retry_on_http_429`. */
const retryablePushCodes: ReadonlySet<ConnectCode> = new Set(["deadline_exceeded", "unknown", "internal", "unavailable", "data_loss", "aborted"]);
/** Codes in a 422 /ingest message that mean the server failed, not the profile. */
const transientIngestCodes: ReadonlySet<ConnectCode> = new Set(["unavailable", "deadline_exceeded", "internal", "canceled", "unknown"]);

const delivered: Outcome = { kind: "delivered" };
const retry = (reason: string) => ({ kind: "retry", reason }) as const;
const permanent = (reason: string): Outcome => ({ kind: "permanent", reason });

/**
 * Classifies a downstream answer. Success is exactly HTTP 200, for Push with a Connect answer's
 * `Content-Type`: a Connect client (Alloy's) fails any other 200 as `internal`, which is retried (a
 * proxy's login page, say, after a redirect, never counts as delivered).
 * - /ingest: 408 and 5xx retry, 429 retries when `retryOnHttp429`; a 422 retries when its message
 *   names a transient code (`unavailable: ...`), any other 422 (`invalid_argument`, parse errors)
 *   and every other status is permanent. Reasons: `http 503`, `http 422 unavailable`.
 * - Push: the Connect code decides, as in Alloy: from a Connect error body, else inferred from the
 *   status as a Connect client does (so a bare 400 is `internal` and retried). Retried:
 *   deadline_exceeded, unknown, internal, unavailable, data_loss, aborted; resource_exhausted only
 *   when `retryOnHttp429` (a bare 429 is unavailable to a Connect client). Reasons: `connect unavailable`
 *   from a body, `http 502` when inferred.
 */
export function classifyResponse(response: DeliveryResponse): Outcome {
  if (response.status === 200 && response.api === "push" && !isProtoAnswer(response.contentType)) {
    const detail = `a 200 with Content-Type ${JSON.stringify(response.contentType ?? "")}, not application/proto: not a Connect answer`;
    return { kind: "retry", reason: "connect internal", detail };
  }
  if (response.status === 200) return delivered;
  return response.api === "push" ? classifyPush(response) : classifyIngest(response);
}

function classifyIngest({ status, body, retryOnHttp429, retryUnauthenticated }: DeliveryResponse): Outcome {
  const reason = `http ${status}`;
  if (status === 429) return retryOnHttp429 ? retry(reason) : permanent(reason);
  if (status === 401 && retryUnauthenticated) return retry(reason);
  if (status === 408 || status >= 500) return retry(reason);
  if (status === 422) {
    const code = codeInMessage(errorMessage(body));
    if (code === undefined) return permanent(reason);
    return transientIngestCodes.has(code) ? retry(`${reason} ${code}`) : permanent(`${reason} ${code}`);
  }
  return permanent(reason);
}

function classifyPush({ status, body, retryOnHttp429, retryUnauthenticated }: DeliveryResponse): Outcome {
  const sent = connectErrorCode(body);
  const code = sent ?? codeFromStatus(status);
  const reason = sent === undefined ? `http ${status}` : `connect ${code}`;
  if (code === "resource_exhausted") return retryOnHttp429 ? retry(reason) : permanent(reason);
  if (code === "unauthenticated" && retryUnauthenticated) return retry(reason);
  if (retryablePushCodes.has(code)) return retry(reason);
  return contentCodes.has(code) ? { kind: "permanent", reason, refusesContent: true } : permanent(reason);
}

function isProtoAnswer(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/proto\s*(;|$)/i.test(contentType.trim());
}

/**
 * The code of a Connect error body `{"code":"unavailable","message":"..."}`, if it is one. The body
 * kept is its first KiB: a longer one (Pyroscope's validation errors quote the whole label set) no
 * longer parses, but connect-go writes `code` first, so its start still says it.
 */
function connectErrorCode(body: string): ConnectCode | undefined {
  const code = parseObject(body)?.["code"] ?? leadingCode.exec(body)?.[1];
  return typeof code === "string" && isConnectCode(code) ? code : undefined;
}

const leadingCode = /^\s*\{\s*"code"\s*:\s*"([a-z_]+)"/;

/** What a Connect client assumes when an error has no Connect body. */
function codeFromStatus(status: number): ConnectCode {
  switch (status) {
    case 400:
      return "internal";
    case 401:
      return "unauthenticated";
    case 403:
      return "permission_denied";
    case 404:
      return "unimplemented";
    case 429:
    case 502:
    case 503:
    case 504:
      return "unavailable";
    default:
      return "unknown";
  }
}

/** Pyroscope answers /ingest errors as `{"code":...,"message":...}`; older servers as plain text. */
function errorMessage(body: string): string {
  const message = parseObject(body)?.["message"];
  return typeof message === "string" ? message : body;
}

// The error text of a Connect error is `<code>: <message>`, possibly wrapped; the first one wins.
const codePrefix = new RegExp(`(?<![a-z_])(${connectCodes.join("|")}):`);

function codeInMessage(message: string): ConnectCode | undefined {
  const code = codePrefix.exec(message)?.[1];
  return code !== undefined && isConnectCode(code) ? code : undefined;
}

function isConnectCode(code: string): code is ConnectCode {
  return knownCodes.has(code);
}

function parseObject(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const undiciTimeouts = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/**
 * Transport error codes that mean nobody answers at the address; only these open the circuit without
 * using an attempt. A timeout is a slow target; a connection reset or closed under a request
 * (ECONNRESET, EPIPE, undici's UND_ERR_SOCKET) had someone at the address, and may be the request's
 * own doing (a proxy that drops a body it will not take): a plain retry, so that such a profile
 * fails for good after `max_backoff_retries` rather than pausing its target again and again.
 */
const unreachableCodes = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

/**
 * Classifies an error thrown while sending (no HTTP answer). Always `retry`: a forwarder cannot
 * tell a flaky network from a misconfigured one (TLS, DNS, refused) and the operator may fix the
 * latter, while retries stay bounded by attempts and age, after which the job is kept for replay.
 * The reason names what happened: a DeliveryError's own (`secret file`, `oauth2 http 503`,
 * `proxy http 407`), `timeout` (AbortError, TimeoutError, undici timeouts), `network ECONNREFUSED`
 * (the first `code` along the cause chain, as fetch wraps it in `TypeError: fetch failed`), else
 * `error <name>`.
 */
export function classifyError(err: unknown): Extract<Outcome, { kind: "retry" }> {
  if (err instanceof DeliveryError) return retry(err.reason);
  const cause = transportCause(err);
  if (cause === "timeout") return retry("timeout");
  if (cause !== undefined) return retry(`network ${cause.code}`);
  return retry(err instanceof Error ? `error ${err.name}` : "error");
}

/** Whether an error thrown while sending means that nobody answers where the request must go. */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof DeliveryError) return err.unreachable;
  const cause = transportCause(err);
  return cause !== undefined && cause !== "timeout" && unreachableCodes.has(cause.code);
}

/** What the error's cause chain tells first: a timeout, or the code of a failed socket operation. */
function transportCause(err: unknown): "timeout" | { code: string } | undefined {
  for (const cause of causeChain(err)) {
    const { name, code } = cause as { name?: unknown; code?: unknown };
    if (name === "AbortError" || name === "TimeoutError" || undiciTimeouts.has(String(code))) return "timeout";
    if (typeof code === "string" && code !== "") return { code };
  }
  return undefined;
}

// The error, its causes, and the first error of an AggregateError (happy eyeballs connects).
function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  let current = err;
  while (typeof current === "object" && current !== null && !chain.includes(current) && chain.length < 8) {
    chain.push(current);
    const { cause, errors } = current as { cause?: unknown; errors?: unknown };
    current = cause ?? (Array.isArray(errors) ? errors[0] : undefined);
  }
  return chain;
}
