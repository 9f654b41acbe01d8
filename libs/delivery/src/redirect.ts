import type { Readable } from "node:stream";

/** Go's http.Client gives up after 10 redirects; so does the relay (the 3xx is then the answer). */
export const maxRedirects = 10;

// As Go's http.Client follows: a 300 (Multiple Choices) is the answer, not a redirect.
const redirectStatuses = new Set([301, 302, 303, 307, 308]);

/** Headers that name the original request's origin or credentials for it. */
const credentialHeaders = new Set(["authorization", "cookie", "proxy-authorization"]);

/** One hop of a request that may be redirected: where it goes and what it carries. */
export interface RedirectableRequest {
  /** `scheme://host[:port]`. */
  origin: string;
  /** Path and query, as sent. */
  path: string;
  method: string;
  /** Flat list of header names and values. */
  headers: string[];
  body: Uint8Array | string | Readable | null;
}

/**
 * The request that follows answer `status` with Location `location` to `request`, or undefined when
 * the answer is the answer (not a redirect, no Location, or a streamed body that is gone). As Go's
 * client and undici do (RFC 9110 section 15.4): 301 and 302 turn a POST into a body-less GET, 303
 * anything but HEAD (dropping the Content-* headers); 307 and 308 resend the same request. Host goes
 * (the new URL sets it), and credentials go to no other host, as Go's client decides (a port or an
 * upgrade to https on the same host keeps them; Alloy's auth is even added again on every hop), nor
 * down from https to http.
 */
export function redirected(request: RedirectableRequest, status: number, location: string | undefined): RedirectableRequest | undefined {
  if (!redirectStatuses.has(status) || location === undefined || location === "") return undefined;
  let url: URL;
  try {
    url = new URL(location, new URL(request.path, request.origin));
  } catch {
    return undefined;
  }
  const toGet = (status === 303 && request.method !== "HEAD") || ((status === 301 || status === 302) && request.method === "POST");
  const body = toGet ? null : request.body;
  if (body !== null && typeof body === "object" && "pipe" in body) return undefined;
  const from = new URL(request.origin);
  const dropCredentials = url.hostname !== from.hostname || (from.protocol === "https:" && url.protocol === "http:");
  const headers: string[] = [];
  for (let i = 0; i + 1 < request.headers.length; i += 2) {
    const name = request.headers[i]!.toLowerCase();
    if (name === "host" || (status === 303 && name.startsWith("content-")) || (dropCredentials && credentialHeaders.has(name))) continue;
    headers.push(request.headers[i]!, request.headers[i + 1]!);
  }
  return { origin: url.origin, path: `${url.pathname}${url.search}`, method: toGet ? "GET" : request.method, headers, body };
}
