import { Code } from "@connectrpc/connect";
import { RequestError } from "@pyroscope-relay/ops";

// Pyroscope (like Cortex/Mimir) accepts these characters in a tenant ID, at most 150 of them.
const tenantPattern = /^[A-Za-z0-9!\-_.*'()]{1,150}$/;

/**
 * The client's `X-Scope-OrgID`, validated; undefined when the client sent none. Sent twice, the first
 * counts, as Go's `Header.Get` reads it (Node and the Fetch API join repeated lines with ", ", and a
 * tenant ID has no comma).
 */
export function tenantOf(header: string | string[] | undefined): string | undefined {
  const sent = Array.isArray(header) ? header[0] : header;
  const value = sent === undefined ? undefined : (sent.split(",", 1)[0] ?? "").trim();
  if (value === undefined || value === "") {
    return undefined;
  }
  if (!tenantPattern.test(value) || value === "." || value === "..") {
    throw new RequestError(Code.InvalidArgument, "X-Scope-OrgID: a tenant ID is 1 to 150 characters of letters, digits and !-_.*'()");
  }
  return value;
}
