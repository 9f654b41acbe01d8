import type { Environment, TargetConfig } from "@pyroscope-relay/config";
import { blankSecrets } from "./blank-secrets.js";
import { httpProxy } from "./proxy-selection.js";
import { proxySecrets } from "./proxy-tunnel.js";

/**
 * The credentials a request carried to its target, blanked out of the start of the target's answer
 * before it becomes a failure's detail (shown by /api/v1/failed, the dashboard and the `failed`
 * CLI): a target that echoes the request must not publish them. They are the Authorization sent
 * (basic_auth's, with its password; a bearer token; `authorization` credentials; an oauth2 access
 * token; one set through `headers` or `http_headers`), every `http_headers` value (secrets in
 * Alloy), and the credentials of the proxy an http request is forwarded to, which answers it (see
 * `forwardedProxySecrets`). Used on failures only: a delivered request costs nothing.
 */
export class SentCredentials {
  /**
   * What every request carries: `http_headers` values, an Authorization in `headers` or
   * `http_headers`; and what one forwarded to a proxy carries.
   */
  private readonly fixed: readonly string[];

  /** `env`: where `proxy_from_environment` reads HTTP_PROXY. */
  constructor(target: Pick<TargetConfig, "headers" | "httpHeaders" | "proxy">, env: Environment) {
    const httpHeaders = Object.entries(target.httpHeaders ?? {}).flatMap(([name, values]) => values.map((value): [string, string] => [name, value]));
    const authorizations = [...Object.entries(target.headers), ...httpHeaders].filter(([name]) => name.toLowerCase() === "authorization");
    this.fixed = [
      ...httpHeaders.map(([, value]) => value),
      ...authorizations.flatMap(([, value]) => authorizationSecrets(value)),
      ...forwardedProxySecrets(target.proxy, env),
    ];
  }

  /**
   * `text` without these credentials, nor those of `authorization`, the Authorization header the
   * request carried; `cut`: the text stops where the answer kept was cut short.
   */
  blank(text: string, authorization: string | undefined, cut: boolean): string {
    return blankSecrets(text, authorization === undefined ? this.fixed : [...this.fixed, ...authorizationSecrets(authorization)], cut);
  }
}

/**
 * The credentials a request to an http:// URL carries to its proxy (`proxy_url`, or HTTP_PROXY) as
 * `Proxy-Authorization`: that proxy's answer is the request's, and one that echoes the request would
 * publish them. A request to an https:// URL tunnels: its proxy answers only the CONNECT, whose
 * failure quotes nothing of it.
 */
export function forwardedProxySecrets(proxy: TargetConfig["proxy"], env: Environment): string[] {
  const url = httpProxy(proxy, env);
  return url === undefined ? [] : proxySecrets(url);
}

/**
 * The secret parts of an Authorization value: what follows its scheme, and a Basic one's password
 * when its credentials are base64 (a `headers` value may be anything).
 */
function authorizationSecrets(value: string): string[] {
  const space = value.indexOf(" ");
  if (space === -1) return [value];
  const credentials = value.slice(space + 1);
  if (value.slice(0, space).toLowerCase() !== "basic") return [credentials];
  const bytes = Buffer.from(credentials, "base64");
  // Node decodes whatever it is given, skipping what is not base64: only a round trip says it was.
  if (bytes.toString("base64") !== credentials) return [credentials];
  const decoded = bytes.toString();
  const colon = decoded.indexOf(":");
  return colon === -1 ? [credentials] : [credentials, decoded.slice(colon + 1)];
}
