import type { Environment, TargetAuth } from "@pyroscope-relay/config";
import { OAuth2TokenSource } from "./oauth2-token-source.js";
import { secretSource } from "./watched-file.js";

/** The Authorization header of a target's requests. */
export interface RequestAuth {
  /** The header value for the next request; undefined: no Authorization header. */
  header(signal: AbortSignal): Promise<string | undefined>;
  /**
   * Whether a 401 can pass without the operator: the credentials come from a file that is read again
   * when it changes, or from an oauth2 token endpoint that is asked again.
   */
  readonly renewable: boolean;
  /** The target answered 401 to a request sent with `header`. */
  refused(header: string): void;
  close(): Promise<void>;
}

export interface RequestAuthOptions {
  /** Bounds a token request. */
  timeoutMs: number;
  env: Environment;
}

/**
 * The endpoint's auth block as a header source: `Basic` for basic_auth, `Bearer` for bearer_token,
 * `<type>` for authorization, the token type of an oauth2 token. Secrets from files are read again
 * whenever their file changes, so a rotated secret is used from the next request on.
 */
export function requestAuth(auth: TargetAuth, options: RequestAuthOptions): RequestAuth {
  switch (auth.kind) {
    case "none":
      return staticAuth(async () => undefined, false);
    case "basic": {
      const password = secretSource(auth.password, auth.passwordFile, "basic_auth password_file");
      const basic = async () => `Basic ${Buffer.from(`${auth.username}:${await password.read()}`).toString("base64")}`;
      return staticAuth(basic, auth.passwordFile !== undefined);
    }
    case "bearer": {
      const token = secretSource(auth.token, auth.tokenFile, "bearer_token_file");
      return staticAuth(async () => `Bearer ${await token.read()}`, auth.tokenFile !== undefined);
    }
    case "authorization": {
      const credentials = secretSource(auth.credentials, auth.credentialsFile, "authorization credentials_file");
      return staticAuth(async () => `${auth.type} ${await credentials.read()}`, auth.credentialsFile !== undefined);
    }
    case "oauth2": {
      const source = new OAuth2TokenSource(auth, options);
      return {
        header: (signal) => source.authorization(signal),
        renewable: true,
        refused: (header) => source.refused(header),
        close: () => source.close(),
      };
    }
  }
}

/** Credentials from the configuration or a file: a refusal changes nothing, the file's next version does. */
function staticAuth(header: () => Promise<string | undefined>, renewable: boolean): RequestAuth {
  return { header, renewable, refused: () => undefined, close: async () => undefined };
}
