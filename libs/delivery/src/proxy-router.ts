import { isIP } from "node:net";
import type { ConnectionOptions } from "node:tls";
import { Agent, Dispatcher, Pool } from "undici";
import type { ProxySelection } from "./proxy-selection.js";
import { proxyAuthorization, tunnelConnector } from "./proxy-tunnel.js";

export interface ProxyRouterOptions {
  select: ProxySelection;
  /** Requests that go straight to their target. */
  direct: Dispatcher;
  connectHeaders: Record<string, string[]>;
  /** TLS to targets (and to https proxies). */
  tls: ConnectionOptions | undefined;
  allowH2: boolean;
  connectTimeoutMs: number;
}

/** The dispatchers of one proxy: a tunnel per https target, plain forwarding for http targets. */
interface ProxyRoute {
  tunnel: Agent;
  forward: Pool;
  authorization: string | undefined;
  /** TLS to an https proxy is checked against the proxy's name, not the target's (undici takes it from Host). */
  servername: string | undefined;
}

/**
 * Sends each request the way Go's transport does with a proxy: https targets through a CONNECT
 * tunnel (TLS to the target inside it, so the proxy sees neither the request nor its credentials),
 * http targets as absolute-form requests to the proxy, with the proxy URL's credentials as
 * `Proxy-Authorization`; targets the selection exempts directly. Decided per request origin, so a
 * redirect to another host is routed for that host.
 */
export class ProxyRouter extends Dispatcher {
  private readonly routes = new Map<string, ProxyRoute>();

  constructor(private readonly options: ProxyRouterOptions) {
    super();
  }

  override dispatch(request: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = new URL(String(request.origin));
    const proxy = this.options.select(origin);
    if (proxy === undefined) return this.options.direct.dispatch(request, handler);
    const route = this.route(proxy);
    if (origin.protocol === "https:") return route.tunnel.dispatch(request, handler);
    const extra = ["host", origin.host, ...(route.authorization === undefined ? [] : ["proxy-authorization", route.authorization])];
    const forwarded: Dispatcher.DispatchOptions & { servername?: string } = {
      ...request,
      origin: proxy.origin,
      path: `${origin.origin}${request.path}`,
      headers: withHeaders(request.headers, extra),
    };
    if (route.servername !== undefined) forwarded.servername = route.servername;
    return route.forward.dispatch(forwarded, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const closed = this.all((dispatcher) => dispatcher.close());
    if (callback === undefined) return closed;
    void closed.then(callback, callback);
  }

  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(first?: Error | null | (() => void), second?: () => void): Promise<void> | void {
    const error = typeof first === "function" ? null : (first ?? null);
    const callback = typeof first === "function" ? first : second;
    const destroyed = this.all((dispatcher) => dispatcher.destroy(error));
    if (callback === undefined) return destroyed;
    void destroyed.then(callback, callback);
  }

  private async all(each: (dispatcher: Dispatcher) => Promise<void>): Promise<void> {
    const routes = [...this.routes.values()].flatMap((route) => [route.tunnel, route.forward]);
    await Promise.all([this.options.direct, ...routes].map(each));
  }

  private route(proxy: URL): ProxyRoute {
    let route = this.routes.get(proxy.href);
    if (route === undefined) {
      const host = proxy.hostname.replace(/^\[(.*)\]$/, "$1");
      const { tls, allowH2, connectTimeoutMs, connectHeaders } = this.options;
      route = {
        tunnel: new Agent({ connect: tunnelConnector({ proxy, connectHeaders, tls, allowH2, timeoutMs: connectTimeoutMs }), allowH2 }),
        forward: new Pool(proxy.origin, {
          connect: { timeout: connectTimeoutMs, ...(proxy.protocol === "https:" ? { ...tls, servername: undefined } : {}) },
          allowH2: false,
        }),
        authorization: proxyAuthorization(proxy),
        servername: proxy.protocol === "https:" && isIP(host) === 0 ? host : undefined,
      };
      this.routes.set(proxy.href, route);
    }
    return route;
  }
}

/**
 * Request headers with the `extra` name/value pairs replacing any of the same names. The relay passes
 * headers as a flat list, and undici's redirect handler keeps them one; a plain object is read too.
 */
function withHeaders(headers: Dispatcher.DispatchOptions["headers"], extra: string[]): string[] {
  const replaced = new Set(extra.filter((_, i) => i % 2 === 0));
  const entries: [string, unknown][] = [];
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) entries.push([String(headers[i]), headers[i + 1]]);
  } else if (headers != null) {
    entries.push(...Object.entries(headers));
  }
  const flat: string[] = [];
  for (const [name, value] of entries) {
    if (replaced.has(name.toLowerCase()) || value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) flat.push(name, String(item));
  }
  return [...flat, ...extra];
}
