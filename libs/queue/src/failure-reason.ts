/** A failed job's `failedReason`, split into what groups failures and what tells them apart. */
export interface FailureReason {
  /**
   * The kind of failure, as the writer names it: `http 400`, `http 422 invalid_argument`,
   * `connect invalid_argument`, `network ECONNREFUSED`, `timeout`, `expired`, `payload expired`,
   * `invalid labels`; any other error's message up to its first colon; `unknown` when empty.
   */
  reason: string;
  /** The HTTP status the target answered, when it answered one. */
  status?: number;
  /** What follows the kind: the start of the response body or the error's message ("" when none). */
  detail: string;
}

/** Longer "kinds" are free-form messages that would give every failure a group of its own. */
const maxReasonLength = 64;

/**
 * Parses a reason the writer recorded, `<kind>[: <detail>]`. Kinds never contain a colon, so the
 * first one separates the two.
 */
export function parseFailureReason(failedReason: string | null | undefined): FailureReason {
  const text = (failedReason ?? "").trim();
  if (text === "") return { reason: "unknown", detail: "" };
  const colon = text.indexOf(":");
  const kind = (colon === -1 ? text : text.slice(0, colon)).trim();
  if (kind === "" || kind.length > maxReasonLength) return { reason: "error", detail: text };
  const detail = colon === -1 ? "" : text.slice(colon + 1).trim();
  const status = /^http (\d{3})(?: |$)/.exec(kind)?.[1];
  return status === undefined ? { reason: kind, detail } : { reason: kind, status: Number(status), detail };
}

/** Which failures an operator picked (replay); an absent field matches everything. */
export interface FailureFilter {
  /** A kind, or the leading words of kinds: `http` matches every `http <status>`, `network` every network error. */
  reason?: string;
  status?: number;
}

export function matchesFailure(failure: FailureReason, filter: FailureFilter): boolean {
  if (filter.status !== undefined && failure.status !== filter.status) return false;
  if (filter.reason === undefined) return true;
  const wanted = filter.reason.trim().toLowerCase();
  const reason = failure.reason.toLowerCase();
  return reason === wanted || reason.startsWith(`${wanted} `);
}
