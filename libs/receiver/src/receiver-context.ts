import type { Logger, RelayMetrics } from "@pyroscope-relay/ops";
import type { Enqueuer } from "@pyroscope-relay/queue";
import type { ReceiverConfig } from "@pyroscope-relay/config";
import type { DebuginfoUpstream } from "./debuginfo-upstream.js";
import { tenantOf } from "./tenant.js";
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
  /**
   * Whether any of these targets (the receiver's, as they are now) would send the client's
   * `X-Scope-OrgID` on: only then is it read, and checked. Every target by default.
   */
  forwardsClientTenant?: (targets: readonly string[]) => boolean;
}

/**
 * The client's tenant, checked, where some target of the receiver would forward it; undefined where
 * every one sends its own (the client's is then of no use to any, as Alloy never reads it).
 * @throws RequestError for a tenant a target would be sent and Pyroscope refuses
 */
export function clientTenant(ctx: ReceiverContext, header: string | string[] | undefined): string | undefined {
  return ctx.forwardsClientTenant?.(ctx.config.targets) === false ? undefined : tenantOf(header);
}
