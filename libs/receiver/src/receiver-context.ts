import type { Logger, RelayMetrics } from "@pyroscope-relay/ops";
import type { Enqueuer } from "@pyroscope-relay/queue";
import type { ReceiverConfig } from "@pyroscope-relay/config";
import type { DebuginfoUpstream } from "./debuginfo-upstream.js";
import { tenantOf } from "./tenant.js";
import type { ThrottledLog } from "@pyroscope-relay/ops";
import type { BodyBudget } from "./body-budget.js";

/** What every handler of one receive_http listener shares. */
export interface ReceiverContext {
  config: ReceiverConfig;
  enqueuer: Enqueuer;
  logger: Logger;
  metrics: RelayMetrics;
  maxBodyBytes: number;
  /** Per-request warnings, shared by every listener of the process (full backlogs, Redis unavailable), at most one line per condition and interval. */
  warnings: ThrottledLog;
  /** The request bodies held in memory (`--ingest.max-inflight-body-size`), shared by every listener of the process. */
  bodies: BodyBudget;
  /** A target's URL as the configuration has it now: Alloy's `endpoint` label of the profiles dropped for it. */
  endpointOf: (target: string) => string;
  /** Where debuginfo calls are passed through to; without one they get Alloy's 503 / `unavailable`. */
  debuginfo?: DebuginfoUpstream;
  /**
   * Whether any of these targets (as they are now) would send the client's `X-Scope-OrgID` on:
   * where none would, a value Pyroscope refuses is no reason to refuse the profile. Every target by default.
   */
  forwardsClientTenant?: (targets: readonly string[]) => boolean;
}

/**
 * The client's tenant, as Pyroscope checks it. One it would refuse is refused where some of `targets`
 * (the receiver's by default) would forward it, and dropped where every one sends its own: of no
 * use to any then, as Alloy, which never reads it, takes any value. A valid one is always kept, so
 * that a reload that lets a target forward it finds it on what waits.
 * @throws RequestError for a tenant Pyroscope refuses that a target would be sent
 */
export function clientTenant(ctx: ReceiverContext, header: string | undefined, targets: readonly string[] = ctx.config.targets): string | undefined {
  try {
    return tenantOf(header);
  } catch (error) {
    if (ctx.forwardsClientTenant?.(targets) === false) return undefined;
    throw error;
  }
}
