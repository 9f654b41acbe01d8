/** A `host:port` listen address; `host` is "" for all interfaces, as in Go and Alloy. */
export interface ListenAddr {
  host: string;
  port: number;
}

/** A listen address that is not `host:port`, `[ipv6]:port` or `:port`. */
export class ListenAddrError extends Error {
  override name = "ListenAddrError";

  constructor(
    readonly listenAddr: string,
    reason: string,
  ) {
    super(`invalid listen address "${listenAddr}": ${reason}`);
  }
}

/** Parses Alloy's `--server.http.listen-addr` forms: `127.0.0.1:12345`, `[::1]:12345`, `:12345`. */
export function parseListenAddr(listenAddr: string): ListenAddr {
  const colon = listenAddr.lastIndexOf(":");
  if (colon < 0) {
    throw new ListenAddrError(listenAddr, "missing port");
  }
  let host = listenAddr.slice(0, colon);
  if (host.startsWith("[") && host.endsWith("]")) {
    host = host.slice(1, -1);
  } else if (host.includes(":")) {
    throw new ListenAddrError(listenAddr, "an IPv6 host must be in brackets, as in [::1]:12345");
  }
  if (/[[\]\s]/.test(host)) {
    throw new ListenAddrError(listenAddr, "malformed host");
  }
  const portText = listenAddr.slice(colon + 1);
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) {
    throw new ListenAddrError(listenAddr, `port "${portText}" is not a number from 0 to 65535`);
  }
  return { host, port };
}
