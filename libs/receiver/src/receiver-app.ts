import express from "express";
import type { NextFunction, Request, Response } from "express";
import { RequestError } from "./request-error.js";
import { ingestHandler } from "./ingest-handler.js";
import { closeWhenAnswered } from "./linger-close.js";
import { pushMiddleware } from "./push-middleware.js";
import type { ReceiverContext } from "./receiver-context.js";

const ingestPaths = ["/ingest", "/pyroscope/ingest"];
const pushPath = "/push.v1.PusherService/Push";

/** The routes of one receive_http listener, as Pyroscope and Alloy serve them. */
export function createReceiverApp(ctx: ReceiverContext): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  // Some SDKs join `serverAddress + "/ingest"`, so a trailing slash in their config yields `//ingest`.
  app.use((req, _res, next) => {
    if (req.url.startsWith("//")) {
      req.url = req.url.replace(/^\/+/, "/");
    }
    next();
  });
  app.use(observe(ctx));
  app.use(pushMiddleware(ctx));
  const ingest = ingestHandler(ctx);
  app.post(ingestPaths, (req, res, next) => {
    ingest(req, res).catch(next);
  });
  app.all([...ingestPaths, pushPath], (req, _res, next) => {
    next(new RequestError("unimplemented", `method ${req.method} not allowed: use POST`));
  });
  app.use((req, _res, next) => {
    next(new RequestError("not_found", `no such endpoint: ${req.method} ${req.path}`));
  });
  app.use(errorHandler(ctx));
  return app;
}

function observe(ctx: ReceiverContext) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      ctx.metrics.receiveRequestDuration.observe({ component: ctx.config.label, route: routeOf(req.path), status_code: res.statusCode }, seconds);
    });
    next();
  };
}

function routeOf(path: string): string {
  if (path === pushPath) return "push";
  if (ingestPaths.includes(path)) return "ingest";
  return "other";
}

function errorHandler(ctx: ReceiverContext) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const error =
      err instanceof RequestError ? err : new RequestError("internal", "internal error: the request was not stored", { cause: err });
    const api = routeOf(req.path);
    if (error.status === 500) {
      ctx.logger.error({ component: ctx.config.label, api, err: error.cause ?? error }, error.message);
    } else {
      ctx.metrics.rejectedRequests.inc({ component: ctx.config.label, api, reason: error.code });
      ctx.logger.debug({ component: ctx.config.label, api, status: error.status, reason: error.message }, "request rejected");
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error.retryAfterSeconds !== undefined) {
      res.setHeader("Retry-After", String(error.retryAfterSeconds));
    }
    if (error.status === 413) {
      closeWhenAnswered(res);
    }
    if (error.status === 405) {
      res.setHeader("Allow", "POST");
    }
    res.status(error.status).json(error.toJSON());
  };
}
