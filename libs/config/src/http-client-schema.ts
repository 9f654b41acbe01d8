import { z } from "zod";
import { alloyBoolean, alloyString, nullAs, optionalBlock, secretString, type FileReader } from "./schema-values.js";
import { MalformedEscapeError, urlCredentials } from "./url-credentials.js";

// The HTTP client settings of a `pyroscope.write` endpoint: Alloy's `common/config` HTTPClientConfig
// (auth blocks, tls_config, proxy, http_headers, follow_redirects, enable_http2) with its Validate
// rules. Messages point at the attribute at fault and never show a value.

/** HTTP header names are RFC 9110 tokens. */
export const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function isHttpUrl(text: string): boolean {
  return URL.canParse(text) && ["http:", "https:"].includes(new URL(text).protocol);
}

/** A file an attribute names, with what it held when the configuration was loaded. */
export interface FileValue {
  path: string;
  contents: string;
  /** Why a secret's file could not be read at load (its contents are then empty): see `secretFileValue`. */
  unreadable?: string;
}

/**
 * Headers Alloy (Prometheus' common config) refuses in `http_headers`: they change the connection,
 * or the client or an auth block sets them.
 */
const reservedHeaders = new Set(
  [
    "Authorization",
    "Host",
    "Content-Encoding",
    "Content-Length",
    "Content-Type",
    "User-Agent",
    "Connection",
    "Keep-Alive",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Www-Authenticate",
    "Accept-Encoding",
    "X-Prometheus-Remote-Write-Version",
    "X-Prometheus-Remote-Read-Version",
    "X-Prometheus-Scrape-Timeout-Seconds",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Amz-Content-Sha256",
  ].map((name) => name.toLowerCase()),
);

const tlsVersions = ["TLS10", "TLS11", "TLS12", "TLS13"] as const;

/** A value that counts as set: Alloy treats an empty string (an unset `env()`) as absent. */
function isSet(value: string | FileValue | undefined): boolean {
  return value !== undefined && value !== "";
}

function conflict(ctx: z.RefinementCtx, path: (string | number)[], message: string): void {
  ctx.addIssue({ code: "custom", path, message });
}

/**
 * A certificate or key file (`tls_config`), read while validating as Alloy loads it, so that a
 * missing file is reported at its attribute. An empty path is no file, as in Alloy.
 */
function pemFileValue(readFile: FileReader) {
  return alloyString.transform((path, ctx): FileValue | undefined => {
    if (path === "") return undefined;
    try {
      return { path, contents: readFile(path) };
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `cannot read ${JSON.stringify(path)}: ${(error as Error).message}` });
      return z.NEVER;
    }
  });
}

/**
 * The file of a secret (`password_file`, `bearer_token_file`, `credentials_file`,
 * `client_secret_file`). Alloy reads it for each request, not at load, so one that cannot be read
 * yet (a sidecar writes it after start) is no error: the writer reads it again for every request
 * (failing them as `secret file` until it can), and `unreadable` says why, for a warning. Its
 * contents lose the whitespace around them (an editor's or `echo`'s newline), as Alloy trims them;
 * an empty path is no file: `password_file = sys.env("PW_FILE")` without PW_FILE sets nothing.
 */
function secretFileValue(readFile: FileReader) {
  return alloyString.transform((path): FileValue | undefined => {
    if (path === "") return undefined;
    try {
      return { path, contents: readFile(path).trim() };
    } catch (error) {
      return { path, contents: "", unreadable: (error as Error).message };
    }
  });
}

/** A map of header names to lists of values (`http_headers`, `proxy_connect_header`); values are secrets. */
function headerLists(reserved: ReadonlySet<string>) {
  return nullAs({}, z.record(z.string(), nullAs([], z.array(secretString)))).superRefine((map, ctx) => {
    for (const name of Object.keys(map)) {
      if (!headerName.test(name)) conflict(ctx, [name], "invalid HTTP header name");
      else if (reserved.has(name.toLowerCase())) {
        conflict(ctx, [name], "reserved header name: the HTTP client or an auth block sets it");
      }
    }
  });
}

/**
 * A proxy URL's credentials go out %-decoded (`Proxy-Authorization`): one with a malformed
 * %-escape is refused here, as Go's url.Parse refuses it when Alloy loads the file, not on every
 * request. Escapes of bytes that are not UTF-8 (`%FF`) are taken, as Go takes them.
 */
function checkProxyCredentials(url: string, ctx: z.RefinementCtx): void {
  if (!isHttpUrl(url)) return;
  try {
    urlCredentials(new URL(url));
  } catch (error) {
    if (!(error instanceof MalformedEscapeError)) throw error;
    conflict(ctx, [], `its credentials hold ${error.message}`);
  }
}

/** `proxy_url`, `no_proxy`, `proxy_from_environment`, `proxy_connect_header`: the endpoint's and oauth2's. */
const proxyShape = {
  // "" is unset, as in Alloy: `proxy_url = env("PROXY")` without PROXY means no proxy.
  // null is Go's zero URL, which Alloy's checks take for no proxy_url at all.
  proxy_url: nullAs(
    undefined,
    alloyString
      .refine((url) => url === "" || isHttpUrl(url), { error: "must be an absolute http:// or https:// URL" })
      .superRefine(checkProxyCredentials)
      .optional(),
  ),
  no_proxy: alloyString.optional(),
  proxy_from_environment: alloyBoolean.default(false),
  proxy_connect_header: headerLists(new Set()).optional(),
};

type ProxySettings = z.output<z.ZodObject<typeof proxyShape>>;

/** Alloy's ProxyConfig.Validate. */
function checkProxy(proxy: ProxySettings, ctx: z.RefinementCtx): void {
  const hasUrl = isSet(proxy.proxy_url);
  if (proxy.proxy_connect_header && Object.keys(proxy.proxy_connect_header).length > 0) {
    if (!hasUrl && !proxy.proxy_from_environment) {
      conflict(ctx, ["proxy_connect_header"], "needs proxy_url or proxy_from_environment");
    }
  }
  if (proxy.proxy_from_environment && hasUrl) {
    conflict(ctx, ["proxy_url"], "set proxy_url or proxy_from_environment, not both");
  }
  if (isSet(proxy.no_proxy)) {
    if (proxy.proxy_from_environment) {
      conflict(ctx, ["no_proxy"], "does not apply with proxy_from_environment: set NO_PROXY in the environment instead");
    } else if (proxy.proxy_url === undefined) {
      // Alloy checks this one against a proxy_url that is absent, not empty: `proxy_url =
      // sys.env("HTTPS_PROXY")` beside a no_proxy loads where the variable is unset (and no proxy is used).
      conflict(ctx, ["no_proxy"], "needs proxy_url");
    }
  }
}

/**
 * The endpoint attributes and blocks of the HTTP client, to spread into the endpoint's object;
 * `readFile` reads what `*_file` attributes name.
 */
export function httpClientShape(readFile: FileReader) {
  const secretFile = secretFileValue(readFile);
  const pemFile = pemFileValue(readFile);
  const pemOf = (text: z.ZodType<string, unknown>) => text.optional().transform((pem) => (pem === "" ? undefined : pem));
  const pem = pemOf(alloyString);

  const tlsConfig = z
    .strictObject({
      ca_pem: pem,
      ca_file: pemFile.optional(),
      cert_pem: pem,
      cert_file: pemFile.optional(),
      // A secret in Alloy, unlike the certificates.
      key_pem: pemOf(secretString),
      key_file: pemFile.optional(),
      insecure_skip_verify: alloyBoolean.default(false),
      server_name: alloyString.optional(),
      // null is Go's zero TLSVersion: none set.
      min_version: nullAs(undefined, z.enum(tlsVersions, { error: `must be one of ${tlsVersions.map((v) => JSON.stringify(v)).join(", ")}` }).optional()),
    })
    .superRefine((tls, ctx) => {
      for (const part of ["ca", "cert", "key"] as const) {
        if (isSet(tls[`${part}_pem`]) && isSet(tls[`${part}_file`])) {
          conflict(ctx, [`${part}_file`], `set ${part}_pem or ${part}_file, not both`);
        }
      }
      const cert = tls.cert_pem !== undefined ? "cert_pem" : tls.cert_file !== undefined ? "cert_file" : undefined;
      const key = tls.key_pem !== undefined ? "key_pem" : tls.key_file !== undefined ? "key_file" : undefined;
      if (cert && !key) conflict(ctx, [cert], "a client certificate needs its key: set key_pem or key_file");
      if (key && !cert) conflict(ctx, [key], "a client key needs its certificate: set cert_pem or cert_file");
    });

  const basicAuth = z
    .strictObject({
      username: alloyString.default(""),
      password: secretString.optional(),
      password_file: secretFile.optional(),
    })
    .superRefine((auth, ctx) => {
      if (isSet(auth.password) && auth.password_file !== undefined) {
        conflict(ctx, ["password_file"], "set password or password_file, not both");
      }
    });

  const authorization = z
    .strictObject({
      // Alloy trims the type and defaults an empty one to Bearer.
      type: alloyString.default("").transform((type) => type.trim() || "Bearer"),
      credentials: secretString.optional(),
      credentials_file: secretFile.optional(),
    })
    .superRefine((auth, ctx) => {
      if (isSet(auth.credentials) && auth.credentials_file !== undefined) {
        conflict(ctx, ["credentials_file"], "set credentials or credentials_file, not both");
      }
      if (auth.type.toLowerCase() === "basic") conflict(ctx, ["type"], 'must not be "basic": use a basic_auth block');
    });

  const oauth2 = z
    .strictObject({
      client_id: alloyString.refine((id) => id !== "", { error: "must not be empty" }),
      client_secret: secretString.optional(),
      client_secret_file: secretFile.optional(),
      scopes: nullAs([], z.array(alloyString)).default(() => []),
      token_url: alloyString.refine(isHttpUrl, { error: "must be an absolute http:// or https:// URL" }),
      endpoint_params: nullAs({}, z.record(z.string(), alloyString)).default(() => ({})),
      tls_config: optionalBlock("tls_config", tlsConfig),
      ...proxyShape,
    })
    .superRefine((auth, ctx) => {
      if (!isSet(auth.client_secret) && auth.client_secret_file === undefined) {
        conflict(ctx, [], "oauth2 needs client_secret or client_secret_file");
      }
      if (isSet(auth.client_secret) && auth.client_secret_file !== undefined) {
        conflict(ctx, ["client_secret_file"], "set client_secret or client_secret_file, not both");
      }
      // Go's client credentials flow refuses to let endpoint_params replace the scopes it sends.
      if (auth.scopes.length > 0 && "scope" in auth.endpoint_params) {
        conflict(ctx, ["endpoint_params", "scope"], "scopes sets the scope parameter; remove it from endpoint_params");
      }
      checkProxy(auth, ctx);
    });

  return {
    basic_auth: optionalBlock("basic_auth", basicAuth),
    authorization: optionalBlock("authorization", authorization),
    oauth2: optionalBlock("oauth2", oauth2),
    // "" is unset, as in Alloy: no `Authorization: Bearer ` for an unset env(), and no second auth method.
    bearer_token: secretString.optional().transform((token) => (token === "" ? undefined : token)),
    bearer_token_file: secretFile.optional(),
    tls_config: optionalBlock("tls_config", tlsConfig),
    http_headers: headerLists(reservedHeaders).optional(),
    follow_redirects: alloyBoolean.default(true),
    enable_http2: alloyBoolean.default(true),
    ...proxyShape,
  };
}

/** An endpoint's HTTP client settings as validated (a pyroscope.write endpoint's, a remote.kubernetes client block's). */
export type HttpClientFields = z.output<z.ZodObject<ReturnType<typeof httpClientShape>>>;

const authMethods = ["basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file"] as const;

/** Alloy's HTTPClientConfig.Validate: one auth method, and the proxy rules. */
export function checkHttpClient(client: Partial<Record<(typeof authMethods)[number], unknown>> & ProxySettings, ctx: z.RefinementCtx): void {
  const [, second] = authMethods.filter((method) => client[method] !== undefined);
  if (second) conflict(ctx, [second], `set at most one of ${authMethods.join(", ")}`);
  checkProxy(client, ctx);
}
