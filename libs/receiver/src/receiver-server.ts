import { createServer } from "node:http";
import { describeReceiver, timerDelay } from "@pyroscope-relay/config";
import type { Server, ServerResponse as Http1ServerResponse } from "node:http";
import { createServer as createHttp2Server } from "node:http2";
import type { ServerHttp2Session } from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { TLSSocket } from "node:tls";
import { routeCleartext } from "./cleartext-protocol.js";
import { ConnectionLimit } from "./connection-limit.js";
import type { ReceiverContext } from "./receiver-context.js";
import type { DebuginfoUpstream } from "./debuginfo-upstream.js";
import type { ReceiverConfig } from "@pyroscope-relay/config";
import { receiverRoutes } from "./receiver-routes.js";
import { clientCertificateProblem, tlsServerOptions } from "./tls-server-options.js";
import { uploadDeadlineMs } from "./debuginfo-upload.js";

/** Like a kernel's listen backlog: how many connections may wait for a conn_limit slot. */
const maxWaitingConnections = 1024;

export class ReceiverListenError extends Error {
  override readonly name = "ReceiverListenError";
}

export interface Receiver {
  readonly label: string;
  /** Where it listens, e.g. `http://127.0.0.1:4041`, or `https://...` with TLS. */
  readonly url: string;
  /**
   * A reload changed only where this receiver forwards (`forward_to`): the next request goes to
   * `targets`. Anything else that changes in the receiver (listener, TLS, timeouts) needs a new one.
   */
  retarget(change: Pick<ReceiverConfig, "forwardTo" | "targets">): void;
  /**
   * A reload changed its first target (or which one is first): the next debuginfo call goes to
   * `upstream`. The previous one closes once no call can still be using it (after the longest an
   * upload or a call may take), or with the receiver.
   */
  redirectDebuginfo(upstream: DebuginfoUpstream | undefined): void;
  /**
   * Stops accepting, lets in-flight requests finish their enqueue and answer, closes idle
   * connections, and cuts what is still open after `graceful_shutdown_timeout`.
   */
  close(): Promise<void>;
}

/**
 * Starts one receive_http listener. Every connection takes a `conn_limit` slot (waiting for one
 * when all are taken), then: with `tls`, a TLS handshake and HTTP/2 or HTTP/1.1 by ALPN; without,
 * HTTP/1.1 or h2c, as the connection's first bytes say. `server_read_timeout` bounds reading a request
 * (its headers and its body), `server_write_timeout` a stalled HTTP/1.1 socket,
 * `server_idle_timeout` keep-alive idleness (and an HTTP/2 session's, unless `http2` sets its own).
 */
/** The most a request's line and headers may take: Go's `http.DefaultMaxHeaderBytes`. */
const MAX_HEADER_BYTES = 1024 * 1024;

export async function startReceiver(ctx: ReceiverContext): Promise<Receiver> {
  const { config } = ctx;
  const routes = receiverRoutes(ctx);
  const closing = { now: false, done: false };
  const http1 = createServer(
    {
      // Node's own bound on a whole HTTP/1.1 request is server-wide: long enough for a debuginfo
      // upload; each request's own deadline is readDeadline's.
      // A timeout of 0 is none, as in Go (Node's 0 too); Go's idle timeout 0 is the read timeout.
      requestTimeout: config.readTimeoutMs === 0 || config.debugInfoUploadTimeoutMs === 0 ? 0 : Math.max(config.readTimeoutMs, config.debugInfoUploadTimeoutMs),
      headersTimeout: config.readTimeoutMs === 0 ? 0 : Math.min(config.readTimeoutMs, 60_000),
      keepAliveTimeout: config.idleTimeoutMs || config.readTimeoutMs,
      // Node checks the two timeouts above only this often (30 s by default), which would let a
      // client that drips its headers hold a connection far past server_read_timeout.
      connectionsCheckingInterval: checkingIntervalMs(config.readTimeoutMs),
      // Go's server takes a request line and headers of up to 1 MiB (http.DefaultMaxHeaderBytes, which
      // Alloy's server keeps); Node's 16 KiB would refuse a name with a dozen long labels with 431.
      maxHeaderSize: MAX_HEADER_BYTES,
    },
    (req, res) => {
      if (closing.now) endConnectionAfter(res, http1);
      routes(req, res);
    },
  );
  http1.setTimeout(config.writeTimeoutMs);
  http1.on("timeout", (socket: Socket) => socket.destroy());
  const inFlight = new Set<Http1ServerResponse>();
  http1.on("request", (_req, res: Http1ServerResponse) => {
    inFlight.add(res);
    res.once("close", () => inFlight.delete(res));
  });

  const http2 = createHttp2Server(
    {
      settings: {
        maxConcurrentStreams: config.http2.maxConcurrentStreams,
        maxFrameSize: config.http2.maxReadFrameSize,
        headerTableSize: config.http2.maxDecoderHeaderTableSize,
        initialWindowSize: config.http2.maxUploadBufferPerStream,
        maxHeaderListSize: MAX_HEADER_BYTES,
      },
      // Node's default (10 MB) plus the connection window: what a client may send unread counts too.
      maxSessionMemory: 10 + Math.ceil(config.http2.maxUploadBufferPerConnection / 2 ** 20),
    },
    routes,
  );
  // A session without traffic for this long is destroyed (Node's default for a session timeout).
  http2.setTimeout(config.http2.idleTimeoutMs);
  const sessions = new Set<ServerHttp2Session>();
  http2.on("session", (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    session.setLocalWindowSize(config.http2.maxUploadBufferPerConnection);
    if (closing.now) session.close();
  });

  const serveHttp1 = takeConnectionListener(http1);
  const serveHttp2 = (socket: Socket) => {
    http2.emit("connection", socket);
  };
  // The http server accepts half-open sockets (HTTP/1.1 handles a client's early FIN itself); TLS
  // and HTTP/2 do not, and would leave a socket the client closed open for good.
  const notHalfOpen = (socket: Socket): Socket => Object.assign(socket, { allowHalfOpen: false });
  // Connections that have not yet said which protocol they speak (or finished their TLS handshake):
  // none carries a request yet, so closing ends them at once instead of waiting out server_read_timeout.
  const undecided = new Set<Socket>();
  const tls = config.tls;
  const tlsServer = tls === undefined ? undefined : createTlsServer(tlsServerOptions(tls, config.readTimeoutMs));
  tlsServer?.on("secureConnection", (socket: TLSSocket) => {
    // Node keeps the TCP socket under a TLS one to itself: the two share the peer's address and port.
    for (const raw of undecided) {
      if (raw.remotePort === socket.remotePort && raw.remoteAddress === socket.remoteAddress) undecided.delete(raw);
    }
    const problem = tls === undefined ? undefined : clientCertificateProblem(socket, tls.clientAuth);
    if (problem !== undefined) {
      ctx.logger.debug({ component: config.label, remote: socket.remoteAddress, reason: problem }, "TLS connection refused");
      socket.destroy();
      return;
    }
    if (socket.alpnProtocol === "h2") serveHttp2(socket);
    else serveHttp1(socket);
  });
  tlsServer?.on("tlsClientError", (err: Error & { code?: string }, socket: TLSSocket) => {
    ctx.logger.debug({ component: config.label, remote: socket.remoteAddress, reason: err.code ?? err.message }, "TLS handshake failed");
  });

  const limit = new ConnectionLimit({
    limit: config.connLimit,
    maxWaiting: maxWaitingConnections,
    serve: (socket) => {
      undecided.add(socket);
      socket.once("close", () => undecided.delete(socket));
      if (tlsServer !== undefined) {
        tlsServer.emit("connection", notHalfOpen(socket));
      } else {
        const decided =
          (serve: (socket: Socket) => void) =>
          (routed: Socket): void => {
            undecided.delete(socket);
            serve(routed);
          };
        routeCleartext(socket, { http1: decided(serveHttp1), http2: decided((cleartext) => serveHttp2(notHalfOpen(cleartext))) }, config.readTimeoutMs);
        return;
      }
      // Accepted paused (pauseOnConnect) so that a waiting connection is not read.
      socket.resume();
    },
    onOpen: (open) => {
      // A closed receiver's series are gone: a reload may have removed it for good.
      if (!closing.done) ctx.metrics.receiveTcpConnections.set({ component: config.label }, open);
    },
    onRefused: () => ctx.metrics.rejectedRequests.inc({ component: config.label, api: "connection", reason: "conn_limit" }),
  });
  ctx.metrics.receiveTcpConnectionsLimit.set({ component: config.label }, config.connLimit);
  // net.Server's option, set on the http server that owns the listening socket.
  Object.assign(http1, { pauseOnConnect: true });
  http1.on("connection", (socket: Socket) => limit.admit(socket));

  const host = config.listenAddress === "" ? undefined : config.listenAddress;
  await new Promise<void>((resolve, reject) => {
    http1.once("error", (err) =>
      reject(
        new ReceiverListenError(`${describeReceiver(config.label)}: cannot listen on ${host ?? "*"}:${config.listenPort}: ${err.message}`, { cause: err }),
      ),
    );
    http1.listen({ host, port: config.listenPort }, resolve);
  });
  const address = http1.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const protocols = tls !== undefined ? "https (HTTP/2 and HTTP/1.1)" : "http (h2c and HTTP/1.1)";
  ctx.logger.info({ component: config.label, address: `${shownHost}:${address.port}`, protocols, targets: config.targets }, "receiver listening");
  if (config.grpcBlockIgnored) {
    ctx.logger.warn(
      { component: config.label },
      "the grpc block is accepted as Alloy does, but nothing listens on it: Push over gRPC is served on the http port",
    );
  }
  if (config.http2DisabledIgnored) {
    ctx.logger.warn(
      { component: config.label },
      "http2 enabled = false is ignored, as Alloy's receive_http ignores it: HTTP/2 without TLS (h2c) is served beside HTTP/1.1, for gRPC clients",
    );
  }
  const scheme = tls === undefined ? "http" : "https";
  let closed: Promise<void> | undefined;
  // Upstreams a reload replaced, until their calls are surely done.
  const retiring = new Map<DebuginfoUpstream, NodeJS.Timeout | undefined>();
  const retire = (upstream: DebuginfoUpstream): Promise<void> => {
    clearTimeout(retiring.get(upstream));
    retiring.delete(upstream);
    return upstream.close();
  };
  return {
    label: config.label,
    url: `${scheme}://${shownHost === "[::]" ? "[::1]" : shownHost === "0.0.0.0" ? "127.0.0.1" : shownHost}:${address.port}`,
    retarget: ({ forwardTo, targets }) => {
      // Handlers read ctx.config per request.
      ctx.config = { ...ctx.config, forwardTo: [...forwardTo], targets: [...targets] };
    },
    redirectDebuginfo: (upstream) => {
      // Handlers read ctx.debuginfo per call; one may have taken the previous upstream just now.
      const previous = ctx.debuginfo;
      ctx.debuginfo = upstream;
      if (previous === undefined) return;
      // A timeout of 0 is none: a call or an upload may use the previous upstream for as long as it
      // likes, so it closes with the receiver only.
      const uploadEnds = uploadDeadlineMs(config.debugInfoUploadTimeoutMs, previous);
      const unbounded = uploadEnds === 0 || previous.callTimeoutMs === 0;
      const lastCallEnds = Math.max(uploadEnds, previous.callTimeoutMs);
      const timer = unbounded
        ? undefined
        : setTimeout(() => {
            retire(previous).catch((err: unknown) => ctx.logger.warn({ component: config.label, err }, "closing a replaced debuginfo upstream failed"));
          }, timerDelay(lastCallEnds)).unref();
      retiring.set(previous, timer);
    },
    close: () => (closed ??= close()),
  };

  async function close(): Promise<void> {
    closing.now = true;
    const stopped = new Promise<void>((resolve, reject) => http1.close((err) => (err ? reject(err) : resolve())));
    limit.closeWaiting();
    for (const socket of undecided) socket.destroy();
    http1.closeIdleConnections();
    for (const res of inFlight) endConnectionAfter(res, http1);
    for (const session of sessions) session.close();
    const cut = setTimeout(() => limit.destroyAll(), timerDelay(config.gracefulShutdownTimeoutMs));
    try {
      await stopped;
    } finally {
      clearTimeout(cut);
      closing.done = true;
      ctx.metrics.receiveTcpConnections.remove({ component: config.label });
      ctx.metrics.receiveTcpConnectionsLimit.remove({ component: config.label });
      await Promise.all([ctx.debuginfo?.close(), ...[...retiring.keys()].map(retire)]);
    }
  }
}

function checkingIntervalMs(readTimeoutMs: number): number {
  return readTimeoutMs === 0 ? 1_000 : Math.max(50, Math.min(1_000, Math.floor(readTimeoutMs / 4)));
}

/**
 * Node's http server parses every connection it accepts at once; this takes that listener off the
 * server, so that connections reach it only once they have a slot (and, with TLS, a handshake).
 */
function takeConnectionListener(server: Server): (socket: Socket) => void {
  const listeners = server.listeners("connection");
  const [parse] = listeners;
  if (listeners.length !== 1 || parse === undefined) {
    throw new Error(`expected Node's http server to have one connection listener, found ${listeners.length}`);
  }
  server.removeListener("connection", parse as (socket: Socket) => void);
  return (socket) => {
    (parse as (socket: Socket) => void).call(server, socket);
  };
}

/** While closing, an HTTP/1.1 connection ends with the answer in flight on it instead of idling. */
function endConnectionAfter(res: Http1ServerResponse, server: Server): void {
  if (!res.headersSent) res.setHeader("Connection", "close");
  else res.once("finish", () => setImmediate(() => server.closeIdleConnections()));
}
