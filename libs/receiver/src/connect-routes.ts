import { createConnectRouter, createContextValues } from "@connectrpc/connect";
import { compressionGzip, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { BodyHold } from "./body-budget.js";
import { connectRequest, refusedBody } from "./connect-request.js";
import { debuginfoRoutes } from "./debuginfo-service.js";
import { decodeErrorAsInvalidArgument } from "./decode-error-mapping.js";
import { declaredBytes, heldBody } from "./held-body.js";
import { isHttp2 } from "./http-exchange.js";
import type { ServerRequest, ServerResponse } from "./http-exchange.js";
import { closeWhenAnswered } from "./linger-close.js";
import { PusherService } from "@pyroscope-relay/proto";
import { ObjectLimit } from "./push-object-limit.js";
import { pushRoutes } from "./push-service.js";
import type { ReceiverContext } from "./receiver-context.js";
import { observeRpcError } from "./rpc-error-code.js";
import { answeredKey } from "./exchange-values.js";
import { tenantHeader, tenantHeaderKey } from "./tenant.js";

/**
 * Pyroscope's connect-go (protojson) refuses a JSON body that is not UTF-8 (`invalid_argument`), where
 * connect-es's default decoder would put U+FFFD in its place and the Push would be stored. Unknown
 * fields are ignored, as connect-go ignores them (and connect-es by default). The decoder is the
 * last step before a JSON message is parsed: the objects it would decode into are counted there.
 */
function jsonOptions(objectLimit: ObjectLimit) {
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  return {
    ignoreUnknownFields: true,
    textDecoder: {
      decode(message: Uint8Array): string {
        objectLimit.checkJson(message);
        return utf8.decode(message);
      },
    },
  };
}

/** Serves one RPC on a POST to its path; a Push's body is taken from `hold`. */
export type ConnectRoute = (req: ServerRequest, res: ServerResponse, hold: BodyHold) => Promise<void>;

/**
 * The RPCs of a receiver by path: `push.v1.PusherService/Push`, and the two debuginfo calls Alloy
 * passes through. Each speaks Connect (proto and JSON), gRPC-Web and gRPC (HTTP/2: h2c or TLS), with
 * gzip request bodies, refusing bodies over the size limit or that would decode into more objects
 * than it allows (`resource_exhausted`, see ObjectLimit), and answering
 * undecodable bodies as Pyroscope does (`invalid_argument`). Every error answer counts as a rejected
 * request with its code, whoever raised it (connect-es itself, before the handler, or the handler).
 */
export function connectRoutes(ctx: ReceiverContext): ReadonlyMap<string, ConnectRoute> {
  const objectLimit = new ObjectLimit(ctx.maxBodyBytes);
  const router = createConnectRouter({ readMaxBytes: ctx.maxBodyBytes, acceptCompression: [compressionGzip], jsonOptions: jsonOptions(objectLimit) });
  pushRoutes(ctx)(router);
  debuginfoRoutes(ctx)(router);
  return new Map(
    router.handlers.map((handler): [string, ConnectRoute] => {
      const api = handler.service.typeName === PusherService.typeName ? "push" : "debuginfo";
      const rejected = (reason: string) => ctx.metrics.rejectedRequests.inc({ component: ctx.config.label, api, reason });
      return [
        handler.requestPath,
        async (req, res, hold) => {
          const values = createContextValues()
            .set(tenantHeaderKey, tenantHeader(req))
            .set(answeredKey, () => res.headersSent);
          // A Push takes its declared length before connect-es reads (and allocates) anything, else its bytes as they come.
          const reserved = api === "push" ? declaredBytes(req, ctx.maxBodyBytes) : 0;
          const refused = hold.take(reserved);
          const request =
            refused !== undefined
              ? refusedBody(connectRequest(req, res, values), refused)
              : connectRequest(req, res, values, api === "push" ? heldBody(req, hold, reserved) : req);
          const answered = await decodeErrorAsInvalidArgument(await handler(api === "push" ? objectLimit.binaryPush(request) : request));
          // Answered already (past the read deadline, counted there): this answer is never written.
          const ours = !res.headersSent;
          const response = observeRpcError(answered, (code) => {
            if (ours) rejected(code);
          });
          // connect-es stops reading a body over the limit and destroys the request, which leaves
          // an HTTP/1.1 socket paused: the connection would hang until server_read_timeout, even
          // after the client is gone, and hold up a graceful shutdown that long. A Push refused
          // before its body was read ends its connection too, rather than have Node read and
          // discard a body its client sends again anyway. (An HTTP/2 stream ends with the answer,
          // whose trailers carry a gRPC status.)
          if ((req.destroyed || refused !== undefined) && !req.complete && !isHttp2(res)) closeWhenAnswered(res);
          await universalResponseToNodeResponse(response, res);
        },
      ];
    }),
  );
}
