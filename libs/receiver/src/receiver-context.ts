import type { Logger, RelayMetrics } from "@pyroscope-relay/ops";
import type { Enqueuer } from "@pyroscope-relay/queue";
import type { ReceiverConfig } from "@pyroscope-relay/config";
import type { DebuginfoUpstream } from "./debuginfo-upstream.js";
import type { ThrottledLog } from "./throttled-log.js";

/** What every handler of one receive_http listener shares. */
export interface ReceiverContext {
  config: ReceiverConfig;
  enqueuer: Enqueuer;
  logger: Logger;
  metrics: RelayMetrics;
  maxBodyBytes: number;
  /** Per-request warnings, shared by every listener of the process (full backlogs, Redis unavailable), at most one line per condition and interval. */
  warnings: ThrottledLog;
  /** Where debuginfo calls are passed through to; without one they get Alloy's 503 / `unavailable`. */
  debuginfo?: DebuginfoUpstream;
}
