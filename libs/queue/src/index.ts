export { createRedisConnection, describeEndpoint, isCluster, redisEndpointOf, SILENCE_LIMIT_MS, waitForRedis } from "./redis-connection.js";
export type { RedisConnection, RedisEndpoint } from "./redis-connection.js";
export { batchClaimsKey, chunkKey, detachedProfileKey, queueNameFor, queueShardsKey } from "./keys.js";
export { targetQueue } from "./target-queue.js";
export type { TargetQueue } from "./target-queue.js";
export { batchJobData } from "./batch-data.js";
export type { BatchJobData, BatchSegment, IngestProfileRef, ProfileFacts, PushProfileRef } from "./batch-data.js";
export { PendingSegments } from "./pending-segments.js";
export { Enqueuer } from "./enqueuer.js";
export type { EnqueueResult, FlushReport } from "./enqueuer.js";
export type { FlushBounds } from "./group-commit.js";
export type { BacklogBounds } from "./backlog-view.js";
export { RedisGuard } from "./redis-guard.js";
export type { MasterShortOfReplicas, RedisMemoryState } from "./redis-guard.js";
export type { ReplicationBound } from "./replication.js";
export { checkRedisDurability } from "./durability.js";
export { recordedTargets, recordTargets } from "./target-registry.js";
export { readTargetBacklog } from "./target-backlog.js";
export { readTargetStates } from "./target-state.js";
export type { TargetState } from "./target-state.js";
export { ExporterLease } from "./exporter-lease.js";
export {
  BacklogFullError,
  QueueShardsMismatchError,
  QueueUnavailableError,
  RedisClusterNodeError,
  RedisMemoryFullError,
  ReplicasMissingError,
  RedisWaitStoppedError,
} from "./errors.js";
export { readQueueShards, recordQueueShards } from "./queue-shards-record.js";
export type { QueueShardsRecord } from "./queue-shards-record.js";
export { QueueShardsWatch } from "./queue-shards-watch.js";
export type { QueueShardsWatchOptions } from "./queue-shards-watch.js";
export { BatchWorker } from "./batch-worker.js";
export { attemptsFor, drainJobId } from "./batch-job.js";
export { parseRanges } from "./index-ranges.js";
export type { BatchWorkerObserver } from "./batch-worker.js";
export { BatchStore } from "./batch-store.js";
export { SharedChunks } from "./shared-chunks.js";
export type { AttemptOutcome, BatchDelivery, DeliveryReport, OutgoingProfile } from "./delivery-port.js";
export type { FailureReason } from "./failure-reason.js";
export { removedTargets, summarizeAskedTargets, summarizeFailed } from "./failed-summary.js";
export type { FailedSummary, RemovedTargetSummary } from "./failed-summary.js";
export { asOfNow } from "./as-of.js";
export { replayFailed } from "./replay.js";
export type { ReplayProgress } from "./replay.js";
export { purgeFailed } from "./purge.js";
export { FailedJobRetention } from "./failed-retention.js";
