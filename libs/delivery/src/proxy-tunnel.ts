import { request as httpRequest, type OutgoingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP, type Socket } from "node:net";
import type { ConnectionOptions } from "node:tls";
import { buildConnector, errors } from "undici";
import { MalformedEscapeError, urlCredentials } from "@pyroscope-relay/config";
import { DeliveryError } from "./delivery-error.js";

export interface TunnelOptions {
  proxy: URL;
  /** `proxy_connect_header`: sent on CONNECT only, never to the target. */
  connectHeaders: Record<string, string[]>;
  /** TLS to the target, and to an https proxy (with the proxy's name), as Go uses one TLS config for both. */
  tls: ConnectionOptions | undefined;
  /** Offer HTTP/2 to the target through the tunnel. */
  allowH2: boolean;
  timeoutMs: number;
}

/**
 * An undici connector for https targets behind a proxy: an HTTP CONNECT tunnel through the proxy,
 * then TLS to the target inside it (plain http targets are forwarded instead, see ProxyRouter). The proxy URL's userinfo becomes a Basic
 * `Proxy-Authorization` (it wins over one in the connect headers, as in Go). A refusal is a
 * DeliveryError `proxy http <status>`; nothing names the credentials.
 */
export function tunnelConnector(options: TunnelOptions): buildConnector.connector {
  const { proxy, timeoutMs } = options;
  const targetTls = buildConnector({ ...options.tls, allowH2: options.allowH2, timeout: timeoutMs });
  const headers: OutgoingHttpHeaders = { ...options.connectHeaders };
  const authorization = proxyAuthorization(proxy);
  if (authorization !== undefined) {
    for (const name of Object.keys(headers)) if (name.toLowerCase() === "proxy-authorization") delete headers[name];
    headers["Proxy-Authorization"] = authorization;
  }

  const proxyHost = proxy.hostname.replace(/^\[(.*)\]$/, "$1");
  const proxyTls = proxy.protocol === "https:" ? { ...options.tls, servername: isIP(proxyHost) ? "" : proxyHost } : {};

  return (target, callback) => {
    const port = target.port || "443";
    const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
    const authority = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
    let tunnel: Socket | undefined;
    let settled = false;
    const finish = (error: Error | null, socket?: Socket) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        request.destroy();
        tunnel?.destroy();
        callback(error, null);
      } else callback(null, socket!);
    };
    const request = (proxy.protocol === "https:" ? httpsRequest : httpRequest)({
      host: proxyHost,
      port: proxy.port || (proxy.protocol === "https:" ? 443 : 80),
      method: "CONNECT",
      path: authority,
      headers: { Host: authority, ...headers },
      agent: false,
      ...proxyTls,
    });
    const timer = setTimeout(() => finish(new errors.ConnectTimeoutError(`timed out opening a tunnel through ${proxy.origin}`)), timeoutMs);
    request.once("error", (error) => finish(error));
    request.once("connect", (response, socket, head) => {
      tunnel = socket;
      if (response.statusCode !== 200) {
        const status = response.statusCode ?? 0;
        // The proxy's origin, never its userinfo.
        finish(new DeliveryError(`proxy http ${status}`, `CONNECT ${authority} via ${proxy.origin}: proxy answered ${status}`));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      targetTls({ ...target, httpSocket: socket }, (error, tlsSocket) => {
        if (error) finish(error);
        else finish(null, tlsSocket);
      });
    });
    request.end();
  };
}

/**
 * Basic credentials from the proxy URL's userinfo, byte for byte as Go sends them: an escape such
 * as `%FF` is that byte, UTF-8 or not.
 * @throws DeliveryError `proxy credentials` when they hold a malformed %-escape (the configuration
 * refuses such a proxy_url: only HTTP_PROXY or HTTPS_PROXY can hold them)
 */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (proxy.username === "" && proxy.password === "") return undefined;
  let credentials;
  try {
    credentials = urlCredentials(proxy);
  } catch (error) {
    if (!(error instanceof MalformedEscapeError)) throw error;
    // Go's url.Parse refuses such a proxy URL, so Go fails every request through it too.
    const detail = `proxy ${proxy.origin} (HTTP_PROXY or HTTPS_PROXY): its credentials hold ${error.message}`;
    throw new DeliveryError("proxy credentials", detail, { cause: error });
  }
  return `Basic ${Buffer.concat([credentials.username, Buffer.from(":"), credentials.password]).toString("base64")}`;
}
