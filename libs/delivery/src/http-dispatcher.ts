import type { ConnectionOptions } from "node:tls";
import { Agent, errors, interceptors, type Dispatcher } from "undici";
import type { Environment, TargetConfig, TargetTls } from "@pyroscope-relay/config";
import { ProxyRouter } from "./proxy-router.js";
import { proxySelection, type ProxySelection } from "./proxy-selection.js";
import { TlsSettings } from "./tls-settings.js";

/** Go's http.Client gives up after 10 redirects. */
const maxRedirections = 10;

export interface HttpSettings {
  tls: TargetTls | undefined;
  proxy: TargetConfig["proxy"];
  /** Offer HTTP/2 to https servers (ALPN); plain http stays HTTP/1.1. */
  allowH2: boolean;
  followRedirects: boolean;
  connectTimeoutMs: number;
  /** Where `proxy_from_environment` reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY. */
  env: Environment;
}

/**
 * The connection pools behind one endpoint (or its oauth2 token endpoint): its TLS settings, its
 * proxy, redirects followed or not. When a certificate file changes, the next request gets pools
 * with the new certificates; the old ones finish what they carry and close.
 */
export class HttpDispatcher {
  private readonly tls: TlsSettings;
  private readonly select: ProxySelection;
  private current: { dispatcher: Dispatcher; version: string } | undefined;
  private readonly retiring = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly settings: HttpSettings) {
    this.tls = new TlsSettings(settings.tls);
    this.select = proxySelection(settings.proxy, settings.env);
  }

  /** The dispatcher for the next request; certificate files are checked first when there are any. */
  async get(): Promise<Dispatcher> {
    if (this.current !== undefined && !this.tls.fromFiles) return this.current.dispatcher;
    const { options, version } = await this.tls.current();
    if (this.closed) throw new errors.ClientClosedError();
    if (this.current?.version !== version) {
      if (this.current !== undefined) this.retire(this.current.dispatcher);
      this.current = { dispatcher: this.build(options), version };
    }
    return this.current.dispatcher;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.current !== undefined) this.retire(this.current.dispatcher);
    this.current = undefined;
    await Promise.all(this.retiring);
  }

  private retire(dispatcher: Dispatcher): void {
    // close() lets requests in flight finish; their outcome is reported where they were sent.
    const closing = dispatcher.close().catch(() => undefined);
    this.retiring.add(closing);
    void closing.then(() => this.retiring.delete(closing));
  }

  private build(tls: ConnectionOptions | undefined): Dispatcher {
    const { allowH2, connectTimeoutMs, followRedirects, proxy } = this.settings;
    const direct = new Agent({ connect: { timeout: connectTimeoutMs, ...tls }, allowH2 });
    const routed =
      proxy === undefined
        ? direct
        : new ProxyRouter({ select: this.select, direct, connectHeaders: proxy.connectHeaders ?? {}, tls, allowH2, connectTimeoutMs });
    return followRedirects ? routed.compose(interceptors.redirect({ maxRedirections })) : routed;
  }
}
