import { Code, createContextKey } from "@connectrpc/connect";
import { RequestError } from "@pyroscope-relay/ops";
import type { ServerRequest } from "./http-exchange.js";

// Pyroscope (like Cortex/Mimir) accepts these characters in a tenant ID, at most 150 of them.
const tenantPattern = /^[A-Za-z0-9!\-_.*'()]{1,150}$/;

/** The client's `X-Scope-OrgID` as `tenantHeader` reads it, for the RPCs (connect-es joins repeated lines). */
export const tenantHeaderKey = createContextKey<string | undefined>(undefined, { description: "the client's X-Scope-OrgID" });

/**
 * The value of the request's first `X-Scope-OrgID` line, as Go's `Header.Get` reads it; undefined
 * when it has none. Node joins repeated lines with ", ", which would make `a,b` on one line (a value
 * Pyroscope refuses) look like two lines, of which the first is a valid tenant.
 */
export function tenantHeader(req: Pick<ServerRequest, "rawHeaders">): string | undefined {
  const { rawHeaders } = req;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === "x-scope-orgid") return rawHeaders[i + 1]!.trim();
  }
  return undefined;
}

/** The tenant ID `value` (an `X-Scope-OrgID` line) names, validated; undefined when absent or empty. */
export function tenantOf(value: string | undefined): string | undefined {
  if (value === undefined || value === "") {
    return undefined;
  }
  if (!tenantPattern.test(value) || value === "." || value === "..") {
    throw new RequestError(Code.InvalidArgument, "X-Scope-OrgID: a tenant ID is 1 to 150 characters of letters, digits and !-_.*'()");
  }
  return value;
}
