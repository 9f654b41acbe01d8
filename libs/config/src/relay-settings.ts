/**
 * How long a command of ingest's Redis connection (a flush, its WAIT for replicas) may take before it
 * fails (503): a Redis that does not answer holds no request longer.
 */
export const PRODUCER_COMMAND_TIMEOUT_MS = 1_500;

/**
 * Relay-only settings, from command-line flags and their environment variables. Each field names
 * its flag; the flag table (`flag-table.ts`) holds its variable, default and meaning.
 */
export interface RelaySettings {
  /** `--redis.url`; absent means `run` starts an embedded redis-server. */
  redisUrl?: string;
  /** `--redis.cluster-nodes`: seed nodes of a Redis Cluster (`HOST:PORT,...`), instead of `redisUrl`. */
  redisClusterNodes?: string;
  /** `--redis.tls-ca-file`: the authorities a `rediss://` Redis' certificate is checked against, instead of the system's. */
  redisTlsCaFile?: string;
  /** `--redis.tls-cert-file`: the relay's client certificate for a `rediss://` Redis, with `redisTlsKeyFile`. */
  redisTlsCertFile?: string;
  /** `--redis.tls-key-file`. */
  redisTlsKeyFile?: string;
  /** `--redis.tls-server-name`: the name a `rediss://` Redis' certificate must hold, instead of the host dialed. */
  redisTlsServerName?: string;
  /** `--redis.min-replicas`. */
  redisMinReplicas: number;
  /** `--redis.replica-timeout`, in ms. */
  redisReplicaTimeoutMs: number;
  /** `--target.queue-shards`. */
  queueShards: number;
  /** `--server.http.listen-addr`. */
  opsListenAddr: string;
  /** `--storage.path`. */
  storagePath: string;
  /** `--writer.concurrency`: per target and process. */
  writerConcurrency: number;
  /** `--writer.claim-delay`, in ms: how long after it was added a drain job claims (0 = at once). */
  writerClaimDelayMs: number;
  /** `--writer.nice`: how the `writer` command lowers its CPU priority. */
  writerPriority: WriterPriority;
  /** `--ingest.max-body-size`, in bytes. */
  maxBodyBytes: number;
  /** `--ingest.max-inflight-body-size`, in bytes (0 = no bound): request bodies held at once per process. */
  maxInflightBodyBytes: number;
  /** `--ingest.flush-max-profiles`. */
  flushMaxProfiles: number;
  /** `--ingest.flush-max-size`, in bytes. */
  flushMaxBytes: number;
  /** `--queue.payload-ttl`, in ms. */
  payloadTtlMs: number;
  /** `--queue.prefix`. */
  queuePrefix: string;
  /** `--target NAME` (repeatable, each name once); empty means all. */
  targets: string[];
  /** `--queue.failed-max-age`, in ms. */
  failedMaxAgeMs: number;
  /** `--queue.failed-max-count`. */
  failedMaxCount: number;
  /** `--target.max-backlog-profiles` (0 = no bound). */
  backlogMaxProfiles: number;
  /** `--target.max-backlog-size`, in bytes (0 = no bound). */
  backlogMaxBytes: number;
  /** `--target.backlog-full`. */
  backlogFullPolicy: "drop" | "reject";
  /** `--target.max-age`, in ms (0 = never). */
  maxAgeMs: number;
  /** `--server.http.admin-token`; required when the ops server listens beyond loopback. */
  adminToken?: string;
  /** `--log.level`. */
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace";
}

/**
 * How a `writer` process steps back from the cores it shares: to a nice value (0 = as started), or
 * to Linux' SCHED_IDLE policy, under which any other process that wakes up preempts it at once.
 */
export type WriterPriority = number | "idle";
