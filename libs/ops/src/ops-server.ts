import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import type { Express, NextFunction, Request, Response } from "express";
import type { Logger } from "pino";
import { parseListenAddr } from "./listen-addr.js";
import type { ListenAddr } from "./listen-addr.js";
import { OpsServerError } from "./ops-server-error.js";
import type { RelayMetrics } from "./relay-metrics.js";

export interface OpsServerOptions {
  /** `host:port`, `[ipv6]:port` or `:port`; port 0 picks a free port. */
  listenAddr: string;
  logger: Logger;
  metrics: RelayMetrics;
  /**
   * Whether the process has started its work (reached Redis, receivers or workers running) and is not
   * shutting down. A Redis lost later leaves it ready: every replica shares that Redis, so taking them
   * all out of a load balancer would turn ingest's 503 and Retry-After into refused connections.
   */
  isReady: () => boolean;
  /**
   * A problem the running process found that makes it not ready although it started (a deployment
   * whose recorded queue shard count is above its own), said in the 503's body; undefined when none.
   */
  readinessProblem?: () => string | undefined;
  /** Adds routes (dashboard, admin API) before the catch-all 404. */
  mount?: (app: Express) => void;
}

export interface OpsServer {
  /** The bound address, with the port actually chosen. */
  address: { host: string; port: number };
  url: string;
  close(): Promise<void>;
}

/** Starts the HTTP server Alloy users know from `--server.http.listen-addr`: health, readiness, metrics. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const { listenAddr, logger, metrics, isReady } = options;
  let bind: ListenAddr;
  try {
    bind = parseListenAddr(listenAddr);
  } catch (cause) {
    throw new OpsServerError(listenAddr, { cause });
  }

  const app = express();
  app.disable("x-powered-by");
  app.get("/-/healthy", (_req, res) => {
    res.type("text/plain").send("Healthy");
  });
  app.get("/-/ready", (_req, res) => {
    const problem = options.readinessProblem?.();
    const ready = isReady() && problem === undefined;
    res
      .status(ready ? 200 : 503)
      .type("text/plain")
      .send(ready ? "Ready" : problem === undefined ? "Not ready" : `Not ready: ${problem}`);
  });
  app.get("/metrics", async (_req, res) => {
    const text = await metrics.metrics();
    res.set("Content-Type", metrics.contentType).send(text);
  });
  options.mount?.(app);
  app.use((_req, res) => {
    res.status(404).type("text/plain").send("Not found");
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    logger.error({ err: error, path: req.path }, "ops server request failed");
    if (!res.headersSent) {
      res.status(500).type("text/plain").send("Internal server error");
    }
  });

  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    const onListenError = (cause: Error) => reject(new OpsServerError(listenAddr, { cause }));
    server.once("error", onListenError);
    // An empty host means every interface, as in Go.
    server.listen({ host: bind.host === "" ? undefined : bind.host, port: bind.port }, () => {
      server.off("error", onListenError);
      resolve();
    });
  });

  const { address: host, port } = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  logger.info({ url }, "ops server listening");
  return {
    address: { host, port },
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
