import { Readable } from "node:stream";
import type { Environment, TargetConfig } from "@pyroscope-relay/config";
import { DeliveryError } from "./delivery-error.js";
import { TargetClient } from "./target-client.js";

/**
 * One debuginfo call or upload for the target, below its URL's path (the shape of the receiver's
 * `UpstreamRequest`: the receiver passes it on as it comes).
 */
export interface DebuginfoRequest {
  /** Path below the target URL's own path, e.g. `/debuginfo.v1alpha1.DebuginfoService/UploadFinished`. */
  path: string;
  /** The client's headers the receiver passes on; its `x-scope-orgid` is the tenant. */
  header: Headers;
  /** Streamed to the target as it arrives, never held whole. */
  body: AsyncIterable<Uint8Array>;
  /** Bounds the call, its answer's body included. */
  signal: AbortSignal;
}

export interface DebuginfoResponse {
  status: number;
  header: Headers;
  /** The target's answer as it arrives; the caller reads it to the end (or aborts the signal). */
  body: AsyncIterable<Uint8Array>;
}

/** A target as the receiver's debuginfo upstream (structurally the receiver's `DebuginfoUpstream` port). */
export interface DebuginfoUpstream {
  readonly name: string;
  /** The target's `remote_timeout`: bounds `ShouldInitiateUpload` and `UploadFinished`. */
  readonly callTimeoutMs: number;
  /** The target's `debug_info_upload_timeout`: bounds an upload (with the receiver's own); 0 = none. */
  readonly uploadTimeoutMs: number;
  /** Resolves with the target's answer, whatever its status; rejects when the request cannot be made or the target not reached. */
  post(request: DebuginfoRequest): Promise<DebuginfoResponse>;
  close(): Promise<void>;
}

export interface DebuginfoUpstreamOptions {
  /** Where `proxy_from_environment` reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY; the process environment by default. */
  env?: Environment;
}

/**
 * The relay could not make the call: a secret file it cannot read, the oauth2 token endpoint, the
 * proxy refusing the tunnel. The message starts with the reason (`oauth2 http 503: token_url ...`),
 * as a writer's failure does, and never shows a secret.
 */
export class DebuginfoUpstreamError extends Error {
  override readonly name = "DebuginfoUpstreamError";

  readonly reason: string;

  constructor(cause: DeliveryError) {
    super(`${cause.reason}: ${cause.message}`, { cause });
    this.reason = cause.reason;
  }
}

/**
 * Request headers that are not the target's business: the connection's own, the client's
 * credentials (never forwarded), the tenant (passed by the tenant rule) and the user agent (ours).
 */
const notPassed = new Set([
  "authorization",
  "connection",
  "expect",
  "host",
  "keep-alive",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "user-agent",
  "x-scope-orgid",
]);

/**
 * A target as the debuginfo upstream of a receiver, over the endpoint's full HTTP client (the one a
 * writer delivers with): its TLS settings (certificate files read again when they change), proxy
 * (`proxy_url`, `no_proxy`, `proxy_from_environment`, `proxy_connect_header`), `follow_redirects`,
 * `enable_http2`, `headers` and `http_headers`, and its auth, secret files read again when they
 * change and an oauth2 token fetched once and reused until shortly before it expires.
 *
 * Headers the target configures win over the client's of the same name; the client's
 * `X-Scope-OrgID` travels on unless the target configures one. The body streams through; a redirect
 * that needs it again (307, 308) is not followed, its 3xx is the answer. A 401 to renewable
 * credentials (a file, oauth2) is the answer too, and the next call reads the file again or fetches a
 * new token. The call is bounded by the caller's signal (and the connect by `remote_timeout`).
 */
export function debuginfoUpstream(target: TargetConfig, options: DebuginfoUpstreamOptions = {}): DebuginfoUpstream {
  const client = new TargetClient(target, { env: options.env ?? process.env });
  return {
    name: target.name,
    callTimeoutMs: target.remoteTimeoutMs,
    uploadTimeoutMs: target.debugInfoUploadTimeoutMs,
    async post(request: DebuginfoRequest): Promise<DebuginfoResponse> {
      const headers: string[] = [];
      request.header.forEach((value, name) => {
        if (!notPassed.has(name) && !client.configures(name)) headers.push(name, value);
      });
      // A byte stream (not object mode): undici writes what it yields, with the client's
      // Content-Length when it sent one, chunked otherwise.
      const body = Readable.from(request.body, { objectMode: false });
      try {
        const response = await client.open(
          { path: request.path, headers, body, tenant: request.header.get("x-scope-orgid") ?? undefined },
          request.signal,
          // The caller's signal bounds the call: an upload may rightly take longer than remote_timeout.
          0,
        );
        return { status: response.statusCode, header: webHeaders(response.headers), body: response.body };
      } catch (error) {
        body.destroy();
        if (error instanceof DeliveryError) throw new DebuginfoUpstreamError(error);
        throw error;
      }
    },
    close: () => client.close(),
  };
}

function webHeaders(headers: Record<string, string | string[] | undefined>): Headers {
  const web = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) web.append(name, one);
  }
  return web;
}
