/**
 * A request that could not reach the target for a reason the relay can name: a secret file it cannot
 * read, the oauth2 token endpoint, the proxy. Retried like a network error. `reason` is what failures
 * are grouped by (`oauth2 http 503`); the message, kept as the failure's detail, names the file or
 * endpoint at fault and never a secret.
 */
export abstract class ClientError extends Error {
  abstract readonly reason: string;
  /** Nobody answers where every request must go first: the target counts as unreachable. */
  abstract readonly unreachable: boolean;
}

/** A secret or certificate file the writer must read again cannot be read (removed, unreadable). */
export class SecretFileError extends ClientError {
  override readonly name = "SecretFileError";
  readonly reason = "secret file";
  readonly unreachable = false;

  constructor(attribute: string, path: string, cause: unknown) {
    const code = (cause as { code?: unknown }).code;
    super(`cannot read ${attribute} ${JSON.stringify(path)}: ${typeof code === "string" ? code : String(cause)}`, { cause });
  }
}

/**
 * The oauth2 token endpoint did not give a token: `oauth2 http 401`, `oauth2 network ECONNREFUSED`,
 * `oauth2 timeout`, `oauth2 invalid response`. The message names the token endpoint.
 */
export class TokenEndpointError extends ClientError {
  override readonly name = "TokenEndpointError";
  /** The token endpoint's HTTP status, when it answered. */
  readonly status: number | undefined;

  constructor(
    readonly reason: string,
    message: string,
    readonly unreachable: boolean,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.status = options.status;
  }
}

/** The proxy refused to open a tunnel to the target (CONNECT answered with another status than 200). */
export class ProxyConnectError extends ClientError {
  override readonly name = "ProxyConnectError";
  readonly reason: string;
  readonly unreachable = false;

  constructor(
    readonly status: number,
    /** Without credentials: the proxy's origin, never its userinfo. */
    proxyOrigin: string,
    authority: string,
  ) {
    super(`CONNECT ${authority} via ${proxyOrigin}: proxy answered ${status}`);
    this.reason = `proxy http ${status}`;
  }
}
