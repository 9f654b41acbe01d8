import { Code } from "@connectrpc/connect";
import { constants } from "node:http2";
import { connectRoutes } from "./connect-routes.js";
import { debuginfoUploadHandler, uploadPathPrefix } from "./debuginfo-upload.js";
import { isHttp2, requestPath, sendJson } from "./http-exchange.js";
import type { ServerRequest, ServerResponse } from "./http-exchange.js";
import { ingestHandler } from "./ingest-handler.js";
import { closeWhenAnswered } from "./linger-close.js";
import { readDeadline } from "./read-deadline.js";
import type { ReceiverContext } from "./receiver-context.js";
import type { BodyHold } from "./body-budget.js";
import { RequestError } from "@pyroscope-relay/ops";

const ingestPaths = new Set(["/ingest", "/pyroscope/ingest"]);
const pushPath = "/push.v1.PusherService/Push";

type Route = "ingest" | "push" | "debuginfo" | "other";

/**
 * The routes of one receive_http listener, as Pyroscope and Alloy serve them, for HTTP/1.1 and
 * HTTP/2 alike: `/ingest`, the Connect RPCs (Push, debuginfo's calls) and the debuginfo upload.
 * A known path with another method than POST: 405; anything else: 404.
 */
export function receiverRoutes(ctx: ReceiverContext): (req: ServerRequest, res: ServerResponse) => void {
  const ingest = ingestHandler(ctx);
  const rpcs = connectRoutes(ctx);
  const upload = debuginfoUploadHandler(ctx);

  const serve = async (req: ServerRequest, res: ServerResponse, path: string, hold: BodyHold): Promise<void> => {
    const rpc = rpcs.get(path);
    const buildId = path.startsWith(uploadPathPrefix) ? path.slice(uploadPathPrefix.length) : undefined;
    const isUpload = buildId !== undefined && buildId !== "" && !buildId.includes("/");
    if (!ingestPaths.has(path) && rpc === undefined && !isUpload) {
      throw new RequestError(Code.NotFound, `no such endpoint: ${req.method} ${path}`);
    }
    // Push has side effects, so Connect's GET is not served either.
    if (req.method !== "POST") throw new RequestError(Code.Unimplemented, `method ${req.method} not allowed: use POST`, { httpStatus: 405 });
    if (rpc !== undefined) return rpc(req, res, hold);
    if (isUpload) return upload(req, res, buildId);
    return ingest(req, res, hold);
  };

  return (req, res) => {
    const path = requestPath(req);
    const route = routeOf(path, rpcs.has(path));
    observe(ctx, route, res);
    // The body's bytes are given back once the exchange is over: answered, failed or the client
    // gone. Not when serve settles: an RPC's never does (connect-node waits for an 'end' that a
    // Node response never emits).
    const hold = ctx.bodies.hold(ctx.config.label, route);
    res.once("close", () => hold.release());
    const readTimeoutMs = path.startsWith(uploadPathPrefix) ? ctx.config.debugInfoUploadTimeoutMs : ctx.config.readTimeoutMs;
    readDeadline(req, readTimeoutMs, () => {
      if (res.headersSent) cut(req, res);
      else
        answer(
          ctx,
          route,
          req,
          res,
          new RequestError(Code.DeadlineExceeded, `the request body was not complete within ${readTimeoutMs} ms`, { httpStatus: 408 }),
        );
    });
    serve(req, res, path, hold).catch((err: unknown) => {
      const error = err instanceof RequestError ? err : new RequestError(Code.Internal, "internal error: the request was not stored", { cause: err });
      answer(ctx, route, req, res, error);
    });
  };
}

function routeOf(path: string, isRpc: boolean): Route {
  if (ingestPaths.has(path)) return "ingest";
  if (path === pushPath) return "push";
  if (isRpc || path.startsWith(uploadPathPrefix)) return "debuginfo";
  return "other";
}

function observe(ctx: ReceiverContext, route: Route, res: ServerResponse): void {
  const started = process.hrtime.bigint();
  res.once("finish", () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    ctx.metrics.receiveRequestDuration.observe({ component: ctx.config.label, route, status_code: res.statusCode }, seconds);
  });
}

/** Answers with the error as Pyroscope's JSON body, or cuts the exchange when an answer is already under way. */
function answer(ctx: ReceiverContext, route: Route, req: ServerRequest, res: ServerResponse, error: RequestError): void {
  if (res.headersSent) {
    // An answer cut short is cut off; one already given (past the read deadline) ends as it was set to.
    if (!res.writableEnded) cut(req, res);
    return;
  }
  const component = ctx.config.label;
  const status = error.httpStatus;
  ctx.metrics.rejectedRequests.inc({ component, api: route, reason: error.reason });
  if (status === 500) {
    ctx.logger.error({ component, api: route, err: error.cause ?? error }, error.rawMessage);
  } else {
    ctx.logger.debug({ component, api: route, status, reason: error.rawMessage }, "request rejected");
  }
  if (error.retryAfterSeconds !== undefined) res.setHeader("Retry-After", String(error.retryAfterSeconds));
  if (status === 405) res.setHeader("Allow", "POST");
  // Over the limit or past the deadline the client is still sending, and so is one whose body the
  // process cannot hold now (503 before it is complete: it must send it again anyway); on HTTP/2
  // any unread body would hold its stream open, on HTTP/1.1 Node reads and discards it.
  if (status === 413 || status === 408 || (!req.complete && (status === 503 || isHttp2(res)))) closeWhenAnswered(res);
  sendJson(res, status, error.toJSON());
}

/** Ends the exchange at once: the HTTP/2 stream, or the HTTP/1.1 connection (an answered response no longer holds it). */
function cut(req: ServerRequest, res: ServerResponse): void {
  if (isHttp2(res)) res.stream.close(constants.NGHTTP2_CANCEL);
  else req.socket.destroy();
}
