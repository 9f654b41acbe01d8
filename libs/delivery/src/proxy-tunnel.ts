import { isUtf8 } from "node:buffer";
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
  const credentials = proxyCredentials(proxy);
  return credentials === undefined ? undefined : `Basic ${basicCredentials(credentials)}`;
}

/**
 * What `proxyAuthorization` sends that a proxy may echo into its answer, for a failure's detail to
 * blank out: the Basic credentials, and the password as text, UTF-8 (invalid bytes read as U+FFFD,
 * as the answer's body is read), and latin1 too when its bytes are not UTF-8 (as a server that
 * takes header bytes for latin1, Node's, would echo it). None when nothing can be sent.
 */
export function proxySecrets(proxy: URL): string[] {
  let credentials;
  try {
    credentials = proxyCredentials(proxy);
  } catch (error) {
    // proxyAuthorization refuses them too: no request carries them.
    if (error instanceof DeliveryError) return [];
    throw error;
  }
  if (credentials === undefined) return [];
  const { password } = credentials;
  const texts = password.length === 0 ? [] : isUtf8(password) ? [password.toString("utf8")] : [password.toString("utf8"), password.toString("latin1")];
  return [basicCredentials(credentials), ...texts];
}

/** The proxy URL's username and password, %-decoded to bytes; undefined without either. */
function proxyCredentials(proxy: URL): { username: Buffer; password: Buffer } | undefined {
  if (proxy.username === "" && proxy.password === "") return undefined;
  try {
    return urlCredentials(proxy);
  } catch (error) {
    if (!(error instanceof MalformedEscapeError)) throw error;
    // Go's url.Parse refuses such a proxy URL, so Go fails every request through it too.
    const detail = `proxy ${proxy.origin} (HTTP_PROXY or HTTPS_PROXY): its credentials hold ${error.message}`;
    throw new DeliveryError("proxy credentials", detail, { cause: error });
  }
}

function basicCredentials({ username, password }: { username: Buffer; password: Buffer }): string {
  return Buffer.concat([username, Buffer.from(":"), password]).toString("base64");
}
