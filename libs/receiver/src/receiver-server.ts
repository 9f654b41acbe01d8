import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createReceiverApp } from "./receiver-app.js";
import type { ReceiverContext } from "./receiver-context.js";

export class ReceiverListenError extends Error {
  override readonly name = "ReceiverListenError";
}

export interface Receiver {
  readonly label: string;
  /** Where it listens, e.g. `http://127.0.0.1:4041`. */
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish their enqueue and answer, then closes idle connections. */
  close(): Promise<void>;
}

/**
 * Starts one receive_http listener. `conn_limit` caps simultaneous connections (extra ones are
 * closed at once); `server_read_timeout` bounds reading a whole request, `server_write_timeout` a
 * stalled socket, `server_idle_timeout` keep-alive idleness.
 */
export async function startReceiver(ctx: ReceiverContext): Promise<Receiver> {
  const { config } = ctx;
  const server = createServer(
    {
      requestTimeout: config.readTimeoutMs,
      headersTimeout: Math.min(config.readTimeoutMs, 60_000),
      keepAliveTimeout: config.idleTimeoutMs,
      // Node checks the two timeouts above only this often (30 s by default), which would let a
      // client that drips its body hold a connection far past server_read_timeout.
      connectionsCheckingInterval: checkingIntervalMs(config.readTimeoutMs),
    },
    createReceiverApp(ctx),
  );
  server.maxConnections = config.connLimit;
  server.setTimeout(config.writeTimeoutMs);
  server.on("timeout", (socket) => socket.destroy());
  trackConnections(server, ctx);
  const host = config.listenAddress === "" ? undefined : config.listenAddress;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) =>
      reject(new ReceiverListenError(`receive_http "${config.label}": cannot listen on ${host ?? "*"}:${config.listenPort}: ${err.message}`, { cause: err })),
    );
    server.listen({ host, port: config.listenPort }, resolve);
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  ctx.logger.info({ component: config.label, address: `${shownHost}:${address.port}`, targets: config.targets }, "receiver listening");
  return {
    label: config.label,
    url: `http://${shownHost === "[::]" ? "[::1]" : shownHost === "0.0.0.0" ? "127.0.0.1" : shownHost}:${address.port}`,
    close: () => closeServer(server),
  };
}

function checkingIntervalMs(readTimeoutMs: number): number {
  return Math.max(50, Math.min(1_000, Math.floor(readTimeoutMs / 4)));
}

function trackConnections(server: Server, ctx: ReceiverContext): void {
  const component = ctx.config.label;
  ctx.metrics.receiveTcpConnectionsLimit.set({ component }, ctx.config.connLimit);
  let open = 0;
  server.on("connection", (socket) => {
    open++;
    ctx.metrics.receiveTcpConnections.set({ component }, open);
    socket.once("close", () => {
      open--;
      ctx.metrics.receiveTcpConnections.set({ component }, open);
    });
  });
  server.on("drop", () => ctx.metrics.rejectedRequests.inc({ component, api: "connection", reason: "conn_limit" }));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeIdleConnections();
  });
}
