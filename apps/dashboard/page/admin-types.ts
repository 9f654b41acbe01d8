// The admin API's answers as the page reads them (libs/admin serves them; the page imports nothing of
// the server, it only speaks HTTP to it).

export interface JobCounts {
  waiting: number;
  delayed: number;
  active: number;
  failed: number;
  prioritized: number;
}

export interface TargetStatus {
  target: string;
  jobs: JobCounts;
  /** Payload bytes and profiles waiting, delayed or in delivery; a bound of null is no bound. */
  backlog: { bytes: number; profiles: number; maxBytes: number | null; maxProfiles: number | null };
  oldestWaitingAgeMs: number | null;
  /** ms since the epoch while the circuit breaker holds the target's queue paused. */
  circuitOpenUntil: number | null;
  /** Every writer's deliveries so far: a counter. */
  deliveredProfiles: number;
}

export interface ReceiverStatus {
  receiver: string;
  /** Counters of the process that serves the page. */
  receivedProfiles: number;
  rejectedRequests: number;
}

export interface RelayStatus {
  /** The server's clock, ms since the epoch. */
  time: number;
  targets: TargetStatus[];
  process: { receivers: ReceiverStatus[] };
}

export interface FailedReason {
  reason: string;
  status?: number;
  batches: number;
  profiles: number;
  oldestAt: number;
  newestAt: number;
  lastDetail: string;
}

export interface FailedSummary {
  target: string;
  batches: number;
  profiles: number;
  reasons: FailedReason[];
  /** A target a reload removed whose queue is still in Redis: it can be purged, not replayed. */
  removed?: true;
}

export interface FailedList {
  targets: FailedSummary[];
}

export interface ReplayRequest {
  target: string;
  reason?: string;
  exactReason?: boolean;
  status?: number;
  since?: string;
  limit?: number;
  /** Only batches that had failed by then (RFC 3339): a dry run's `asOf`. */
  asOf?: string;
  dryRun?: boolean;
}

export interface ReplayResult {
  target: string;
  dryRun: boolean;
  /** The time it acted as of (RFC 3339). */
  asOf: string;
  replayed: number;
  replayedProfiles: number;
  skipped: number;
  notMatched: number;
}

export interface PurgeRequest {
  target: string;
  reason?: string;
  exactReason?: boolean;
  status?: number;
  olderThan?: string;
  asOf?: string;
  dryRun?: boolean;
}

export interface PurgeResult {
  target: string;
  dryRun: boolean;
  asOf: string;
  purged: number;
  purgedProfiles: number;
  payloadsDeleted: number;
}
