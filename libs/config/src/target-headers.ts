import type { TargetConfig } from "./relay-config.js";

/** The header names a target's endpoint sets itself (`headers` and `http_headers`), lower case. */
export function configuredHeaders(target: Pick<TargetConfig, "headers" | "httpHeaders">): Set<string> {
  return new Set([...Object.keys(target.headers), ...Object.keys(target.httpHeaders ?? {})].map((name) => name.toLowerCase()));
}

/** Whether a target sends a tenant of its own (`X-Scope-OrgID`), never the client's. */
export function setsOwnTenant(target: Pick<TargetConfig, "headers" | "httpHeaders">): boolean {
  return configuredHeaders(target).has("x-scope-orgid");
}
