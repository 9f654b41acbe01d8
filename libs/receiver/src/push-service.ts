import { toBinary, create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { PusherService, PushRequestSchema } from "@pyroscope-relay/proto";
import type { PushRequest, RawProfileSeries } from "@pyroscope-relay/proto";
import { InvalidLabelError, validatePushLabels } from "@pyroscope-relay/profile";
import { RequestError } from "@pyroscope-relay/ops";
import { enqueueOrUnavailable } from "./enqueue.js";
import { clientTenant, type ReceiverContext } from "./receiver-context.js";
import { answeredKey } from "./exchange-values.js";
import { tenantHeaderKey } from "./tenant.js";

/**
 * `push.v1.PusherService/Push`. Malformed protobuf/JSON and label values that are not UTF-8 are
 * refused by the codec (invalid_argument); label names are checked here. The request is stored as
 * binary protobuf whatever codec the client spoke.
 */
export function pushRoutes(ctx: ReceiverContext): (router: ConnectRouter) => void {
  return (router) =>
    router.service(PusherService, {
      async push(request, handler) {
        try {
          await push(ctx, request, handler);
        } catch (err) {
          // connect-es answers with a ConnectError (a RequestError is one) as it is; anything else
          // is a fault of the relay's, answered `internal` without its message.
          if (err instanceof ConnectError) throw err;
          ctx.logger.error({ component: ctx.config.label, api: "push", err }, "internal error: the request was not stored");
          throw new RequestError(Code.Internal, "internal error: the request was not stored", { cause: err });
        }
        return {};
      },
    });
}

async function push(ctx: ReceiverContext, request: PushRequest, handler: HandlerContext): Promise<void> {
  // The exchange ended before the body did (the client reset it, or the read deadline passed): a
  // truncated body can still decode, and must not be stored as the client's Push.
  if (handler.signal.aborted || handler.values.get(answeredKey)()) {
    throw new ConnectError("the request ended before its body was complete", Code.Canceled);
  }
  checkLabels(request);
  const series = request.series.filter((s) => s.samples.length > 0);
  if (series.length === 0) {
    return;
  }
  const payload = toBinary(PushRequestSchema, create(PushRequestSchema, { series }));
  const contentType = handler.requestHeader.get("content-type") ?? "";
  await enqueueOrUnavailable(ctx, "push", payload, {
    kind: "push",
    receivedAt: Date.now(),
    tenant: clientTenant(ctx, handler.values.get(tenantHeaderKey)),
    codec: contentType.includes("json") ? "json" : "proto",
    series: series.length,
    ...samplesOf(series),
  });
}

/** The samples of `series` and their raw profiles' bytes: Alloy's count of a Push's profiles and bytes (its `requestSize`). */
function samplesOf(series: readonly RawProfileSeries[]): { samples: number; rawBytes: number } {
  let samples = 0;
  let rawBytes = 0;
  for (const { samples: raw } of series) {
    samples += raw.length;
    for (const sample of raw) rawBytes += sample.rawProfile.length;
  }
  return { samples, rawBytes };
}

function checkLabels(request: PushRequest): void {
  request.series.forEach((series, i) => {
    try {
      validatePushLabels(series.labels);
    } catch (err) {
      if (err instanceof InvalidLabelError) {
        throw new RequestError(Code.InvalidArgument, `series[${i}]: ${err.message}`, { cause: err });
      }
      throw err;
    }
  });
}
