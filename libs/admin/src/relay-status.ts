import type { RelayMetrics } from "@pyroscope-relay/ops";
import { readTargetStates, type RedisConnection } from "@pyroscope-relay/queue";
import { readReceiverCounters, type ReceiverCounters } from "./receiver-counters.js";

/** `--target.max-backlog-size` and `--target.max-backlog-profiles`; 0 is no bound. */
export interface BacklogBounds {
  maxBytes: number;
  maxProfiles: number;
}

/** One target as `GET /api/v1/status` reports it: the queue in Redis, shared by every process. */
export interface TargetStatus {
  target: string;
  jobs: { waiting: number; delayed: number; active: number; failed: number; prioritized: number };
  /** A bound of null is no bound. */
  backlog: { bytes: number; profiles: number; maxBytes: number | null; maxProfiles: number | null };
  oldestWaitingAgeMs: number | null;
  circuitOpenUntil: number | null;
  /** Every writer's deliveries since the queue was created: a counter, for rates. */
  deliveredProfiles: number;
}

export interface RelayStatus {
  /** When it was read, ms since the epoch: the clock rates are computed with. */
  time: number;
  targets: TargetStatus[];
  /** What only the answering process knows. */
  process: { receivers: ReceiverCounters[] };
}

export interface RelayStatusSource {
  connection: RedisConnection;
  prefix: string;
  shards?: number;
  targets: readonly string[];
  bounds: BacklogBounds;
  metrics: RelayMetrics;
  receivers: readonly string[];
}

/** The targets' state from Redis and this process's receiver counters, read at once. */
export async function readRelayStatus(source: RelayStatusSource): Promise<RelayStatus> {
  const { bounds } = source;
  const [states, receivers] = await Promise.all([
    readTargetStates(source.connection, source.prefix, source.targets, source.shards),
    readReceiverCounters(source.metrics, source.receivers),
  ]);
  const bound = (value: number) => (value > 0 ? value : null);
  return {
    time: Date.now(),
    targets: states.map((state) => ({
      target: state.target,
      jobs: state.jobs,
      backlog: { ...state.backlog, maxBytes: bound(bounds.maxBytes), maxProfiles: bound(bounds.maxProfiles) },
      oldestWaitingAgeMs: state.oldestWaitingAgeMs,
      circuitOpenUntil: state.circuitOpenUntil,
      deliveredProfiles: state.deliveredProfiles,
    })),
    process: { receivers },
  };
}
