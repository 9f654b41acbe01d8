import type { NextFunction, Request, Response } from "express";
import { createConnectRouter } from "@connectrpc/connect";
import { compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import { decodeErrorAsInvalidArgument } from "./decode-error-mapping.js";
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
    if (handler === undefined) {
      next();
      return;
    }
    handler(universalRequestFromNodeRequest(req, res, undefined, undefined))
      .then(decodeErrorAsInvalidArgument)
      .then((response) => universalResponseToNodeResponse(response, res))
      .catch(next);
  };
}
