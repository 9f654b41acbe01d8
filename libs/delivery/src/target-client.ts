import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { configuredHeaders, setsOwnTenant, type Environment, type TargetConfig } from "@pyroscope-relay/config";
import { HttpDispatcher, type HttpRequest } from "./http-dispatcher.js";
import { requestAuth, type RequestAuth } from "./request-auth.js";
import { withRequestSignal } from "./request-signal.js";
import { SentCredentials } from "./sent-credentials.js";

/** How much of an error response is kept for the failure record and the retry decision. */
const responseStartBytes = 1024;

export interface TargetResponse {
  status: number;
  /** The answer's `Content-Type`. */
  contentType: string | undefined;
  retryAfter: string | undefined;
  /** The start of the response body (error responses only), as the target wrote it: the retry decision reads it. */
  bodyStart: string;
  /** The body went on past `bodyStart`. */
  bodyCut: boolean;
  /** The Authorization the request carried, if any: blanked out of a failure's detail (see `withoutCredentials`). */
  authorization: string | undefined;
}

export interface TargetRequest {
  /** Path below the endpoint URL's own path, e.g. `/ingest`. */
  path: string;
  query?: string;
  /** Flat list of header names and values. */
  headers: string[];
  body: Uint8Array;
  tenant: string | undefined;
  /** A Connect call: it tells the server its deadline (`Connect-Timeout-Ms`), as Alloy's Connect client does. */
  connect?: boolean;
}

/** A request of `TargetClient.open`: its body whole, or streamed as it comes. */
export interface OpenRequest extends Omit<TargetRequest, "body"> {
  body: Uint8Array | Readable;
}

export interface TargetClientOptions {
  /** Where `proxy_from_environment` reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY. */
  env: Environment;
}

/**
 * One endpoint's HTTP client: connection pools with the endpoint's TLS settings, proxy, redirect and
 * HTTP/2 settings; its static headers (`headers`, then `http_headers`) and auth; `remote_timeout`
 * for every attempt. Auth and certificates read from files are read again when the files change.
 */
export class TargetClient {
  private readonly http: HttpDispatcher;
  private readonly auth: RequestAuth;
  /** Blanked out of what a failure record quotes of an answer. */
  private readonly credentials: SentCredentials;
  private readonly base: URL;
  private readonly basePath: string;
  private readonly staticHeaders: string[];
  /** The names of `headers` and `http_headers`, lower case. */
  private readonly configured: ReadonlySet<string>;
  private readonly hasStaticTenant: boolean;
  /** An Authorization set through `headers` wins over the auth block, as in Alloy. */
  private readonly hasStaticAuthorization: boolean;
  /** The relay's User-Agent, unless `headers` sets one or the request carries its own. */
  private readonly userAgent: readonly string[];

  constructor(
    private readonly target: TargetConfig,
    options: TargetClientOptions,
  ) {
    this.base = new URL(target.url);
    this.basePath = this.base.pathname.replace(/\/+$/, "");
    this.http = new HttpDispatcher({
      tls: target.tls,
      proxy: target.proxy,
      allowH2: target.enableHttp2 ?? true,
      followRedirects: target.followRedirects ?? true,
      connectTimeoutMs: target.remoteTimeoutMs,
      env: options.env,
    });
    this.auth = requestAuth(target.auth, { timeoutMs: target.remoteTimeoutMs, env: options.env });
    this.credentials = new SentCredentials(target, options.env);
    const httpHeaders = Object.entries(target.httpHeaders ?? {}).flatMap(([name, values]) => values.flatMap((value) => [name, value]));
    this.staticHeaders = [...Object.entries(target.headers).flat(), ...httpHeaders];
    this.configured = configuredHeaders(target);
    this.hasStaticTenant = setsOwnTenant(target);
    this.hasStaticAuthorization = this.configured.has("authorization");
    this.userAgent = this.configured.has("user-agent") ? [] : RELAY_USER_AGENT;
  }

  /** Whether a 401 may pass by itself (credentials read from a file, or an oauth2 token): then it is retried. */
  get renewsCredentials(): boolean {
    return this.auth.renewable && !this.hasStaticAuthorization;
  }

  /**
   * One request, bounded by `remote_timeout` (undici's own header and body timeouts: cheaper than a
   * timer signal per request); `signal` aborts it early (shutdown past its grace period), through a
   * signal of the request's own (see withRequestSignal). The answer's body is read off (AnswerReader).
   */
  send(req: TargetRequest, signal: AbortSignal): Promise<TargetResponse> {
    return withRequestSignal(signal, async (requestSignal) => {
      const { request, authorization } = await this.prepare(req, requestSignal, this.target.remoteTimeoutMs);
      const answer = await this.http.exchange(request, responseStartBytes);
      this.answered(answer.statusCode, authorization);
      const contentType = firstValue(answer.headers["content-type"]);
      if (answer.statusCode === 200) return { status: 200, contentType, retryAfter: undefined, bodyStart: "", bodyCut: false, authorization };
      return {
        status: answer.statusCode,
        contentType,
        retryAfter: firstValue(answer.headers["retry-after"]),
        bodyStart: answer.bodyStart,
        bodyCut: answer.bodyCut,
        authorization,
      };
    });
  }

  /**
   * `text`, quoting `response`, without the credentials its request carried: for a failure's detail,
   * which a target that echoes the request must not fill with them. `cut`: the text ends where the
   * answer kept was cut short.
   */
  withoutCredentials(text: string, response: TargetResponse, cut: boolean): string {
    return this.credentials.blank(text, response.authorization, cut);
  }

  /**
   * One POST with the endpoint's headers, auth and tenant rule, its body whole or streamed; resolves
   * once the answer's headers are in, whatever its status, with its body for the caller to read (or
   * dump).
   * `timeoutMs` bounds the wait for the answer's headers and each pause in its body (0: only `signal`).
   * `signal` should be the request's own: undici listens on it per request (see withRequestSignal).
   */
  async open(req: OpenRequest, signal: AbortSignal, timeoutMs: number): Promise<Dispatcher.ResponseData> {
    const { request, authorization } = await this.prepare(req, signal, timeoutMs);
    const response = await this.http.request(request);
    this.answered(response.statusCode, authorization);
    return response;
  }

  /** A request as `open` describes it, and the Authorization it carries, if any. */
  private async prepare(req: OpenRequest, signal: AbortSignal, timeoutMs: number): Promise<{ request: HttpRequest; authorization: string | undefined }> {
    // The query goes out exactly as built (already encoded), not re-encoded by a URL object.
    const path = `${this.basePath}${req.path}${req.query ? `?${req.query}` : ""}`;
    // The endpoint's configured tenant wins; otherwise the client's travels on (Alloy drops it).
    const tenant = !this.hasStaticTenant && req.tenant !== undefined ? ["X-Scope-OrgID", req.tenant] : [];
    const authorization = this.hasStaticAuthorization ? undefined : await this.auth.header(signal);
    const request: HttpRequest = {
      origin: this.base.origin,
      path,
      method: "POST",
      headers: [
        ...req.headers,
        ...tenant,
        // The request's own headers win over the endpoint's of the same name, as in Alloy: a Push's
        // Content-Type and User-Agent (connect-go's), an /ingest profile's Content-Type.
        ...(this.overlaps(req.headers) ? without(this.staticHeaders, req.headers) : this.staticHeaders),
        ...(authorization === undefined ? [] : ["Authorization", authorization]),
        ...(hasHeader(req.headers, "user-agent") ? [] : this.userAgent),
        ...(req.connect === true ? connectTimeoutHeader(timeoutMs) : []),
      ],
      body: req.body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal,
    };
    return { request, authorization };
  }

  /** A 401 to renewable credentials lets the next request fetch or read new ones. */
  private answered(status: number, authorization: string | undefined): void {
    if (status === 401 && authorization !== undefined) this.auth.refused(authorization);
  }

  /** Whether the endpoint sets this header itself (`headers` or `http_headers`, any case). */
  configures(header: string): boolean {
    return this.configured.has(header.toLowerCase());
  }

  async close(): Promise<void> {
    await Promise.all([this.http.close(), this.auth.close()]);
  }

  /** Whether the request carries a header the endpoint configures too. */
  private overlaps(headers: readonly string[]): boolean {
    for (let i = 0; i < headers.length; i += 2) if (this.configured.has(headers[i]!.toLowerCase())) return true;
    return false;
  }
}

/** The relay's User-Agent, which a Connect call (Push) carries whatever the endpoint's `headers` say, as Alloy's does. */
export const RELAY_USER_AGENT: readonly string[] = ["User-Agent", "pyroscope-relay"];

/** Name-value pairs (flat) but those named in `others` (name-value pairs too). */
function without(headers: readonly string[], others: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) if (!hasHeader(others, headers[i]!)) kept.push(headers[i]!, headers[i + 1]!);
  return kept;
}

function hasHeader(headers: readonly string[], name: string): boolean {
  const wanted = name.toLowerCase();
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === wanted) return true;
  return false;
}

/** A header's first value (Node gives a repeated one as an array). */
function firstValue(header: string | string[] | undefined): string | undefined {
  return Array.isArray(header) ? header[0] : header;
}

/** connect-go's encoding of a deadline: whole milliseconds, at most 10 digits; none that it could not send. */
export function connectTimeoutHeader(timeoutMs: number): string[] {
  const whole = Math.floor(timeoutMs);
  return whole >= 1 && whole <= 9_999_999_999 ? ["Connect-Timeout-Ms", String(whole)] : [];
}
