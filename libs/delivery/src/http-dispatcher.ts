import type { ConnectionOptions } from "node:tls";
import { Agent, errors, type Dispatcher } from "undici";
import type { Environment, TargetConfig, TargetTls } from "@pyroscope-relay/config";
import { AnswerReader, type HttpAnswer } from "./http-answer.js";
import { ProxyRouter } from "./proxy-router.js";
import { proxySelection, type ProxySelection } from "./proxy-selection.js";
import { maxRedirects, redirected, type RedirectableRequest } from "./redirect.js";
import { TlsSettings } from "./tls-settings.js";

/** A request of `HttpDispatcher`: where it goes and what it carries, undici's other options, and its own signal. */
export type HttpRequest = RedirectableRequest & Omit<Dispatcher.RequestOptions, keyof RedirectableRequest | "signal"> & { signal?: AbortSignal };

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

  /**
   * One request, its answer as a stream for the caller to read (or dump); redirects as `follow` says.
   */
  request(request: HttpRequest): Promise<Dispatcher.ResponseData> {
    return this.follow(
      request,
      async (hop) => (await this.get()).request(hop),
      (response) => response.body.dump(),
    );
  }

  /**
   * One request whose answer's body is read off, its start kept (see AnswerReader); redirects as
   * `follow` says. What a delivery needs of an answer, at less CPU than `request`.
   */
  exchange(request: HttpRequest, bodyStartBytes: number): Promise<HttpAnswer> {
    return this.follow(
      request,
      async (hop) => {
        const dispatcher = await this.get();
        const reader = new AnswerReader(bodyStartBytes, hop.signal);
        dispatcher.dispatch(hop, reader);
        return reader.answer;
      },
      // The reader has read the body off already.
      async () => undefined,
    );
  }

  /**
   * Sends `request`, and with `followRedirects` follows redirects (see `redirected`), at most
   * `maxRedirects`, each answer's body read off first (`drop`) so that its connection carries the
   * next. Followed here rather than by undici's redirect interceptor, whose handler chain on every
   * request cost the writer about a seventh of its CPU (docs/performance.md, "Redirects followed by the relay").
   */
  private async follow<A extends Pick<Dispatcher.ResponseData, "statusCode" | "headers">>(
    request: HttpRequest,
    send: (hop: HttpRequest & { method: Dispatcher.HttpMethod }) => Promise<A>,
    drop: (answer: A) => Promise<void>,
  ): Promise<A> {
    let hop: RedirectableRequest = request;
    for (let redirects = 0; ; redirects++) {
      const answer = await send({ ...request, ...hop, method: hop.method as Dispatcher.HttpMethod });
      const location = answer.headers.location;
      const next =
        this.settings.followRedirects && redirects < maxRedirects
          ? redirected(hop, answer.statusCode, Array.isArray(location) ? location[0] : location)
          : undefined;
      if (next === undefined) return answer;
      await drop(answer);
      hop = next;
    }
  }

  /** The dispatcher for the next request; certificate files are checked first when there are any. */
  private async get(): Promise<Dispatcher> {
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
    const { allowH2, connectTimeoutMs, proxy } = this.settings;
    const direct = new Agent({ connect: { timeout: connectTimeoutMs, ...tls }, allowH2 });
    return proxy === undefined
      ? direct
      : new ProxyRouter({ select: this.select, direct, connectHeaders: proxy.connectHeaders ?? {}, tls, allowH2, connectTimeoutMs });
  }
}
