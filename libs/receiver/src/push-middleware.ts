import type { NextFunction, Request, Response } from "express";
import { createConnectRouter } from "@connectrpc/connect";
import { compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import { decodeErrorAsInvalidArgument } from "./decode-error-mapping.js";
import { closeWhenAnswered } from "./linger-close.js";
import { pushRoutes } from "./push-service.js";
import type { ReceiverContext } from "./receiver-context.js";

/**
 * Serves `push.v1.PusherService/Push` over Connect (proto and JSON) and gRPC-Web, with gzip
 * request bodies, refusing bodies over the size limit (`resource_exhausted`). Like
 * connect-express's middleware, plus Pyroscope's status for undecodable bodies.
 */
export function pushMiddleware(ctx: ReceiverContext) {
  const router = createConnectRouter({ readMaxBytes: ctx.maxBodyBytes, acceptCompression: [compressionGzip] });
  pushRoutes(ctx)(router);
  const handlers = new Map(router.handlers.map((handler) => [handler.requestPath, handler]));
  return (req: Request, res: Response, next: NextFunction): void => {
    const handler = handlers.get(req.path);
    // Other methods fall through to the app's 405, which names the problem in a JSON body; Connect
    // answers them with an empty body (Push has side effects, so GET is not served either).
    if (handler === undefined || req.method !== "POST") {
      next();
      return;
    }
    handler(universalRequestFromNodeRequest(req, res, undefined, undefined))
      .then(decodeErrorAsInvalidArgument)
      .then((response) => {
        // connect-es stops reading a body over the limit and destroys the request, which leaves
        // the socket paused: the connection would hang until server_read_timeout, even after the
        // client is gone, and hold up a graceful shutdown that long.
        if (req.destroyed && !req.complete) closeWhenAnswered(res);
        return universalResponseToNodeResponse(response, res);
      })
      .catch(next);
  };
}
