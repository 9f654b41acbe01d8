import type { Environment, TargetAuth } from "@pyroscope-relay/config";
import { blankSecrets } from "./blank-secrets.js";
import { DeliveryError } from "./delivery-error.js";
import { HttpDispatcher } from "./http-dispatcher.js";
import { classifyError, isUnreachable } from "./retry-policy.js";
import { readStart } from "./response-start.js";
import { forwardedProxySecrets } from "./sent-credentials.js";
import { secretSource, type Reloadable } from "./watched-file.js";

type OAuth2 = Extract<TargetAuth, { kind: "oauth2" }>;

/** How much of a token endpoint's error answer a failure's detail quotes. */
const detailChars = 1024;

/** A token is fetched anew this long before it expires, as Go's oauth2 package does. */
export const refreshBeforeExpiryMs = 10_000;

interface Token {
  /** The Authorization header value: `<type> <access token>`. */
  header: string;
  /** Milliseconds since the epoch; Infinity when the endpoint gave no lifetime. */
  expiresAt: number;
  /** The client secret it was fetched with: a rotated secret fetches a new token. */
  secret: string;
}

export interface OAuth2Options {
  /** Bounds each token request (connect, headers, body), like a request to the target. */
  timeoutMs: number;
  env: Environment;
  now?: () => number;
}

/**
 * The OAuth 2.0 client credentials grant, as Alloy's oauth2 block does it: a token from `token_url`
 * (with `scopes` and `endpoint_params`), reused until shortly before it expires, fetched again once
 * the client secret (file) changes or the target refuses it. Concurrent requests share one fetch. The
 * client authenticates with HTTP Basic; if the endpoint refuses that, with the credentials in the
 * form instead, and keeps to what worked (Go's auto-detection). The token endpoint has its own TLS
 * settings and proxy. Failures are DeliveryErrors (`oauth2 http 503`, `oauth2 network ECONNREFUSED`,
 * `oauth2 timeout`, `oauth2 invalid response`) that name the endpoint, never the secret; nobody
 * answering at the token endpoint makes the target unreachable.
 */
export class OAuth2TokenSource {
  private readonly secret: Reloadable;
  private readonly http: HttpDispatcher;
  private readonly endpoint: string;
  /** What a token request forwarded to a proxy carries to it, blanked out of a failure's detail with the secret. */
  private readonly proxySecrets: readonly string[];
  private readonly now: () => number;
  private token: Token | undefined;
  private fetching: Promise<Token> | undefined;
  /** Undecided until a fetch succeeds. */
  private credentialsInForm: boolean | undefined;

  constructor(
    private readonly config: OAuth2,
    private readonly options: OAuth2Options,
  ) {
    this.secret = secretSource(config.clientSecret, config.clientSecretFile, "oauth2 client_secret_file");
    this.http = new HttpDispatcher({
      tls: config.tls,
      proxy: config.proxy,
      allowH2: false,
      followRedirects: true,
      connectTimeoutMs: options.timeoutMs,
      env: options.env,
    });
    const url = new URL(config.tokenUrl);
    // Named in failures: without credentials or query, which might carry secrets.
    this.endpoint = `${url.origin}${url.pathname}`;
    this.proxySecrets = forwardedProxySecrets(config.proxy, options.env);
    this.now = options.now ?? Date.now;
  }

  /** The Authorization header value for the next request. */
  async authorization(signal: AbortSignal): Promise<string> {
    const secret = await this.secret.read();
    const token = this.token;
    if (token !== undefined && token.secret === secret && this.now() < token.expiresAt - refreshBeforeExpiryMs) return token.header;
    this.fetching ??= this.fetch(secret, signal).finally(() => {
      this.fetching = undefined;
    });
    return (await this.fetching).header;
  }

  /** The target refused `header` (401): the next request fetches a new token, unless one came meanwhile. */
  refused(header: string): void {
    if (this.token?.header === header) this.token = undefined;
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private async fetch(secret: string, signal: AbortSignal): Promise<Token> {
    let token: Token;
    if (this.credentialsInForm === undefined) {
      try {
        token = await this.request(secret, false, signal);
        this.credentialsInForm = false;
      } catch (error) {
        // Only an endpoint that answered may want the credentials in the form instead.
        if (!(error instanceof DeliveryError) || error.status === undefined) throw error;
        token = await this.request(secret, true, signal);
        this.credentialsInForm = true;
      }
    } else {
      token = await this.request(secret, this.credentialsInForm, signal);
    }
    this.token = token;
    return token;
  }

  private async request(secret: string, credentialsInForm: boolean, signal: AbortSignal): Promise<Token> {
    const { clientId, scopes, endpointParams, tokenUrl } = this.config;
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    if (scopes.length > 0) form.set("scope", scopes.join(" "));
    // endpoint_params may replace grant_type, for servers that need another one (Go allows it too).
    for (const [name, value] of Object.entries(endpointParams)) form.set(name, value);
    const headers = ["Content-Type", "application/x-www-form-urlencoded", "Accept", "application/json"];
    if (credentialsInForm) {
      form.set("client_id", clientId);
      if (secret !== "") form.set("client_secret", secret);
    } else {
      headers.push("Authorization", `Basic ${basicCredentials(clientId, secret)}`);
    }
    const url = new URL(tokenUrl);
    const started = this.now();
    let response;
    try {
      response = await this.http.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: "POST",
        headers,
        body: form.toString(),
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
        signal,
      });
    } catch (error) {
      // No answer from the token endpoint, or the relay's own reason (a proxy that refused the
      // tunnel, `oauth2 proxy http 407`; proxy credentials it cannot send), which names no secret.
      const why = error instanceof DeliveryError ? error.message : "no answer";
      throw new DeliveryError(`oauth2 ${classifyError(error).reason}`, `token_url ${this.endpoint}: ${why}`, {
        unreachable: isUnreachable(error),
        cause: error,
      });
    }
    const status = response.statusCode;
    const body = await readStart(response.body, 64 * 1024);
    if (status < 200 || status > 299) {
      // Cut first: a secret across the cut leaves its start at the end, which redact blanks.
      const detail = redact(body.slice(0, detailChars), body.length > detailChars, clientId, secret, this.proxySecrets).trim();
      throw new DeliveryError(`oauth2 http ${status}`, `token_url ${this.endpoint}: ${detail}`, { status });
    }
    const fields = tokenFields(String(response.headers["content-type"] ?? ""), body);
    const accessToken = fields?.["access_token"];
    if (typeof accessToken !== "string" || accessToken === "") {
      throw new DeliveryError("oauth2 invalid response", `token_url ${this.endpoint}: no access_token in the answer`);
    }
    const expiresIn = Number(fields?.["expires_in"] ?? 0);
    return {
      header: `${tokenType(fields?.["token_type"])} ${accessToken}`,
      expiresAt: Number.isFinite(expiresIn) && expiresIn > 0 ? started + expiresIn * 1000 : Infinity,
      secret,
    };
  }
}

/** JSON, or a form for `application/x-www-form-urlencoded` and `text/plain` answers (as Go reads them). */
function tokenFields(contentType: string, body: string): Record<string, unknown> | undefined {
  const mediaType = contentType.split(";")[0]!.trim().toLowerCase();
  if (mediaType === "application/x-www-form-urlencoded" || mediaType === "text/plain") {
    return Object.fromEntries(new URLSearchParams(body));
  }
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Go's Token.Type(): the usual types in their usual case, Bearer when none is given. */
function tokenType(type: unknown): string {
  if (typeof type !== "string" || type === "") return "Bearer";
  const known = ["Bearer", "MAC", "Basic"].find((name) => name.toLowerCase() === type.toLowerCase());
  return known ?? type;
}

/** RFC 6749 2.3.1: client id and secret are form-encoded before they go into Basic credentials. */
function formEncode(text: string): string {
  return new URLSearchParams({ "": text }).toString().slice(1);
}

/** The Basic credentials of a token request: the client id and secret, form-encoded. */
function basicCredentials(clientId: string, secret: string): string {
  return Buffer.from(`${formEncode(clientId)}:${formEncode(secret)}`).toString("base64");
}

/**
 * A token endpoint that echoes the request must not put the secret into a failure record: neither
 * as sent in the form nor in the Basic credentials (after Basic worked, the only form sent); nor a
 * proxy that answers for it the credentials it was sent (`proxySecrets`).
 * `cut`: the text is the start of a longer answer.
 */
function redact(text: string, cut: boolean, clientId: string, secret: string, proxySecrets: readonly string[]): string {
  const own = secret === "" ? [] : [secret, formEncode(secret), encodeURIComponent(secret), basicCredentials(clientId, secret)];
  return blankSecrets(text, [...own, ...proxySecrets], cut);
}
