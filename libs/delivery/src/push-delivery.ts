import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { TargetConfig } from "@pyroscope-relay/config";
import { rewritePushLabels } from "@pyroscope-relay/profile";
import { LabelPairSchema, PushRequestSchema } from "@pyroscope-relay/proto";
import type { LabelPair, PushRequest } from "@pyroscope-relay/proto";
import type { PushJobData } from "@pyroscope-relay/queue";
import { PermanentDeliveryError } from "./delivery-error.js";
import { attempt } from "./attempt.js";
import type { TargetClient } from "./target-client.js";

const pushHeaders = ["Content-Type", "application/proto", "Connect-Protocol-Version", "1"];

/**
 * Forwards a stored Push request as Alloy does: one downstream Push per series, labels rewritten,
 * samples untouched. `seriesDone` lets a retry skip the series the target already accepted.
 */
export async function deliverPush(
  client: TargetClient,
  target: TargetConfig,
  job: PushJobData,
  payload: Uint8Array,
  seriesDone: number,
  onSeriesDelivered: (count: number) => Promise<void>,
): Promise<void> {
  const request = decode(payload);
  for (let i = seriesDone; i < request.series.length; i++) {
    const series = request.series[i]!;
    const labels = rewrite(series.labels, target).map((l) => create(LabelPairSchema, l));
    const body = toBinary(PushRequestSchema, create(PushRequestSchema, { series: [{ labels, samples: series.samples }] }));
    await attempt(
      client,
      "push",
      { path: "/push.v1.PusherService/Push", headers: pushHeaders, body, tenant: job.tenant },
      target.retryOnHttp429,
    );
    if (i + 1 < request.series.length) {
      await onSeriesDelivered(i + 1);
    }
  }
}

function rewrite(labels: LabelPair[], target: TargetConfig) {
  try {
    return rewritePushLabels(labels, target.externalLabels);
  } catch (err) {
    throw new PermanentDeliveryError(`invalid labels: ${(err as Error).message}`, { cause: err });
  }
}

function decode(payload: Uint8Array): PushRequest {
  try {
    return fromBinary(PushRequestSchema, payload);
  } catch (err) {
    throw new PermanentDeliveryError("stored push request cannot be decoded", { cause: err });
  }
}
