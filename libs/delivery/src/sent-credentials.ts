import type { TargetConfig } from "@pyroscope-relay/config";
import { blankSecrets } from "./blank-secrets.js";

/**
 * The credentials a request carried to its target, blanked out of the start of the target's answer
 * before it becomes a failure's detail (shown by /api/v1/failed, the dashboard and the `failed`
 * CLI): a target that echoes the request must not publish them. They are the Authorization sent
 * (basic_auth's, with its password; a bearer token; `authorization` credentials; an oauth2 access
 * token; one set through `headers`) and every `http_headers` value (secrets in Alloy). Used on
 * failures only: a delivered request costs nothing.
 */
export class SentCredentials {
  /** What every request carries: `http_headers` values, an Authorization in `headers`. */
  private readonly fixed: readonly string[];

  constructor(target: Pick<TargetConfig, "headers" | "httpHeaders">) {
    const configuredAuthorization = Object.entries(target.headers).filter(([name]) => name.toLowerCase() === "authorization");
    this.fixed = [...Object.values(target.httpHeaders ?? {}).flat(), ...configuredAuthorization.flatMap(([, value]) => authorizationSecrets(value))];
  }

  /** `text` without these credentials, nor those of `authorization`, the Authorization header the request carried. */
  blank(text: string, authorization: string | undefined): string {
    return blankSecrets(text, authorization === undefined ? this.fixed : [...this.fixed, ...authorizationSecrets(authorization)]);
  }
}

/** The secret parts of an Authorization value: what follows its scheme, and a Basic one's password. */
function authorizationSecrets(value: string): string[] {
  const space = value.indexOf(" ");
  if (space === -1) return [value];
  const credentials = value.slice(space + 1);
  if (value.slice(0, space).toLowerCase() !== "basic") return [credentials];
  const decoded = Buffer.from(credentials, "base64").toString();
  const colon = decoded.indexOf(":");
  return colon === -1 ? [credentials] : [credentials, decoded.slice(colon + 1)];
}
