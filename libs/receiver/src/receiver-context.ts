import type { Logger, RelayMetrics } from "@pyroscope-relay/ops";
import type { Enqueuer } from "@pyroscope-relay/queue";
import type { ReceiverConfig } from "@pyroscope-relay/config";

/** What every handler of one receive_http listener shares. */
export interface ReceiverContext {
  config: ReceiverConfig;
  enqueuer: Enqueuer;
  logger: Logger;
  metrics: RelayMetrics;
  maxBodyBytes: number;
}
