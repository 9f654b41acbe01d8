/** Relay-only settings: command-line flags with environment-variable equivalents. */
export interface RelaySettings {
  /** `--redis.url` / `REDIS_URL`; absent means `run` starts an embedded redis-server. */
  redisUrl?: string;
  /** `--redis.cluster-nodes` / `RELAY_REDIS_CLUSTER_NODES`: seed nodes of a Redis Cluster (`HOST:PORT,...`), instead of `redisUrl`. */
  redisClusterNodes?: string;
  /** `--redis.min-replicas` / `RELAY_REDIS_MIN_REPLICAS`, default 0: replicas that must hold a flush before ingest answers 200. */
  redisMinReplicas: number;
  /** `--redis.replica-timeout` / `RELAY_REDIS_REPLICA_TIMEOUT`, default `1s`: how long a flush waits for them. */
  redisReplicaTimeoutMs: number;
  /** `--target.queue-shards` / `RELAY_TARGET_QUEUE_SHARDS`, default 1: BullMQ queues (on different slots) per target. */
  queueShards: number;
  /** `--server.http.listen-addr` / `RELAY_SERVER_HTTP_LISTEN_ADDR`, default `127.0.0.1:12345`. */
  opsListenAddr: string;
  /** `--storage.path` / `RELAY_STORAGE_PATH`, default `data`: the embedded Redis keeps its AOF here. */
  storagePath: string;
  /** `--writer.concurrency` / `RELAY_WRITER_CONCURRENCY`, default 4: deliveries in flight per target and process. */
  writerConcurrency: number;
  /** `--ingest.max-body-size` / `RELAY_INGEST_MAX_BODY_SIZE`, default 32 MiB (accepts `512KiB`, `8MiB`, bytes). */
  maxBodyBytes: number;
  /** `--ingest.flush-max-profiles` / `RELAY_INGEST_FLUSH_MAX_PROFILES`, default 500: profiles one flush to Redis carries at most. */
  flushMaxProfiles: number;
  /** `--ingest.flush-max-size` / `RELAY_INGEST_FLUSH_MAX_SIZE`, default `8MiB`: payload bytes one flush carries at most (a larger profile goes alone). */
  flushMaxBytes: number;
  /** `--queue.payload-ttl` / `RELAY_QUEUE_PAYLOAD_TTL`, default `168h`: safety net against leaked payloads. */
  payloadTtlMs: number;
  /** `--queue.prefix` / `RELAY_QUEUE_PREFIX`, default `pyroscope-relay`. */
  queuePrefix: string;
  /** `--target NAME` (repeatable): the writer serves only these targets; empty means all. */
  targets: string[];
  /** `--queue.failed-max-age` / `RELAY_QUEUE_FAILED_MAX_AGE`, default `168h`: failed jobs older than this are removed. */
  failedMaxAgeMs: number;
  /** `--queue.failed-max-count` / `RELAY_QUEUE_FAILED_MAX_COUNT`, default 10000: failed jobs kept per target. */
  failedMaxCount: number;
  /** `--target.max-backlog-profiles` / `RELAY_TARGET_MAX_BACKLOG_PROFILES`, default 100000: profiles waiting per target (0 = no bound). */
  backlogMaxProfiles: number;
  /** `--target.max-backlog-size` / `RELAY_TARGET_MAX_BACKLOG_SIZE`, default `1GiB`: payload bytes waiting per target (0 = no bound). */
  backlogMaxBytes: number;
  /** `--target.backlog-full` / `RELAY_TARGET_BACKLOG_FULL`, default `drop`: what a full target does with a new profile. */
  backlogFullPolicy: "drop" | "reject";
  /** `--target.max-age` / `RELAY_TARGET_MAX_AGE`, default `1h` (Pyroscope's ingestion window): older jobs fail as `expired` (0 = never). */
  maxAgeMs: number;
  /** `--server.http.admin-token` / `RELAY_ADMIN_TOKEN`: bearer token of the admin API; required when the ops server listens beyond loopback. */
  adminToken?: string;
  /** `--log.level` / `RELAY_LOG_LEVEL`, default `info`. */
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace";
}
