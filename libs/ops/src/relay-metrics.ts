import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { QueueStateMetrics, type QueueStateReading, type QueueStateSource } from "./queue-state-metrics.js";

/** How long a scrape waits for the queue state: well within Prometheus' default 10 s scrape timeout. */
export const QUEUE_STATE_DEADLINE_MS = 2_000;

/** Labels of every writer metric: the target's name and its URL (Alloy's `endpoint`). */
export type WriterLabel = "target" | "endpoint";

/**
 * Alloy's `type` of a `pyroscope_write_latency` observation. The relay observes each downstream
 * request: Alloy's `*_downstream`. Its `*_endpoint` and `*_total` time a client's synchronous
 * request, which the relay answers before delivering.
 */
export type WriteLatencyType = "ingest_downstream" | "push_downstream";

/**
 * Every metric the relay exports, on a registry of its own (never prom-client's global one, so that
 * several relays in one process or test do not collide). Writer and receiver metrics keep Alloy's
 * names and labels (plus `target`) so that existing dashboards keep working. Each process exports its
 * own counts; the queue state read from Redis is exported by one process of a deployment only
 * (docs/metrics.md).
 */
export class RelayMetrics {
  readonly registry = new Registry();

  readonly writeSentBytes = new Counter<WriterLabel>({
    name: "pyroscope_write_sent_bytes_total",
    help: "Total number of compressed bytes sent to Pyroscope.",
    labelNames: ["target", "endpoint"],
    registers: [this.registry],
  });

  readonly writeDroppedBytes = new Counter<WriterLabel | "reason">({
    name: "pyroscope_write_dropped_bytes_total",
    help: "Bytes lost for good for a target, as Alloy counts them (an /ingest body; a Push request's raw profiles): dropped at ingest (backlog_full), or in failed batches purged or removed by retention.",
    labelNames: ["target", "endpoint", "reason"],
    registers: [this.registry],
  });

  readonly writeSentProfiles = new Counter<WriterLabel>({
    name: "pyroscope_write_sent_profiles_total",
    help: "Total number of profiles sent to Pyroscope.",
    labelNames: ["target", "endpoint"],
    registers: [this.registry],
  });

  readonly writeDroppedProfiles = new Counter<WriterLabel | "reason">({
    name: "pyroscope_write_dropped_profiles_total",
    help: "Profiles lost for good for a target, as Alloy counts them (one per /ingest request, one per sample of a Push request): dropped at ingest (backlog_full), or in failed batches purged or removed by retention.",
    labelNames: ["target", "endpoint", "reason"],
    registers: [this.registry],
  });

  readonly relabelDroppedProfiles = new Counter<WriterLabel | "component_id">({
    name: "pyroscope_relabel_profiles_dropped",
    help: "Profiles (an /ingest profile, a Push series) a target did not send because a rule of the pyroscope.relabel component component_id dropped them; counted for each target.",
    labelNames: ["target", "endpoint", "component_id"],
    registers: [this.registry],
  });

  readonly writeRetries = new Counter<WriterLabel>({
    name: "pyroscope_write_retries_total",
    help: "Total number of retries to Pyroscope.",
    labelNames: ["target", "endpoint"],
    registers: [this.registry],
  });

  readonly writeLatency = new Histogram<WriterLabel | "type">({
    name: "pyroscope_write_latency",
    help: "Write latency for sending profiles to Pyroscope, in seconds: each downstream request, whatever its answer.",
    labelNames: ["target", "endpoint", "type"],
    registers: [this.registry],
  });

  readonly failedProfiles = new Counter<WriterLabel | "reason">({
    name: "pyroscope_relay_failed_profiles_total",
    help: "Profiles that failed for good at a target and were kept in a failed batch, which an operator can replay.",
    labelNames: ["target", "endpoint", "reason"],
    registers: [this.registry],
  });

  readonly failedBytes = new Counter<WriterLabel | "reason">({
    name: "pyroscope_relay_failed_bytes_total",
    help: "Payload bytes of the profiles that failed for good at a target and were kept in a failed batch for replay.",
    labelNames: ["target", "endpoint", "reason"],
    registers: [this.registry],
  });

  readonly receiveTcpConnections = new Gauge<"component">({
    name: "pyroscope_receive_http_tcp_connections",
    help: "Current number of accepted TCP connections.",
    labelNames: ["component"],
    registers: [this.registry],
  });

  readonly receiveTcpConnectionsLimit = new Gauge<"component">({
    name: "pyroscope_receive_http_tcp_connections_limit",
    help: "The maximum number of simultaneous TCP connections accepted.",
    labelNames: ["component"],
    registers: [this.registry],
  });

  readonly receiveRequestDuration = new Histogram<"component" | "route" | "status_code">({
    name: "pyroscope_receive_http_request_duration_seconds",
    help: "Time (in seconds) spent serving HTTP requests.",
    labelNames: ["component", "route", "status_code"],
    registers: [this.registry],
  });

  readonly debuginfoDownstreamCalls = new Counter<"component" | "method" | "result">({
    name: "pyroscope_receive_http_debuginfo_downstream_calls_total",
    help: "Total number of downstream debuginfo calls made by the receive_http proxy, labeled by method and result.",
    labelNames: ["component", "method", "result"],
    registers: [this.registry],
  });

  readonly receivedProfiles = new Counter<"component" | "api">({
    name: "pyroscope_relay_received_profiles_total",
    help: "Profiles accepted and queued, by receiver and API (ingest or push).",
    labelNames: ["component", "api"],
    registers: [this.registry],
  });

  readonly receivedBytes = new Counter<"component" | "api">({
    name: "pyroscope_relay_received_bytes_total",
    help: "Payload bytes accepted and queued, by receiver and API (ingest or push).",
    labelNames: ["component", "api"],
    registers: [this.registry],
  });

  readonly rejectedRequests = new Counter<"component" | "api" | "reason">({
    name: "pyroscope_relay_rejected_requests_total",
    help: "Requests answered with an error before anything was queued, by reason.",
    labelNames: ["component", "api", "reason"],
    registers: [this.registry],
  });

  readonly enqueueFailures = new Counter<"component">({
    name: "pyroscope_relay_enqueue_failures_total",
    help: "Requests answered 503 because Redis refused the payload or a job, or was near its maxmemory.",
    labelNames: ["component"],
    registers: [this.registry],
  });

  readonly flushDuration = new Histogram<"outcome">({
    name: "pyroscope_relay_flush_duration_seconds",
    help: "Time (in seconds) one flush took to store its profiles in Redis (fsync included), add their drain jobs and, with --redis.min-replicas, have replicas confirm it, by outcome (stored or failed); every request it carried waited for it.",
    labelNames: ["outcome"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly flushProfiles = new Histogram({
    name: "pyroscope_relay_flush_profiles",
    help: "Profiles one flush carried, stored or failed.",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [this.registry],
  });

  readonly backlogFull = new Counter<"target" | "policy">({
    name: "pyroscope_relay_backlog_full_total",
    help: "Profiles that found a target's backlog at its bound, by target and policy (drop: dropped for that target; reject: request answered 429).",
    labelNames: ["target", "policy"],
    registers: [this.registry],
  });

  readonly backlogDroppedProfiles = new Counter<"target">({
    name: "pyroscope_relay_backlog_dropped_profiles_total",
    help: "Profiles acknowledged but not queued for a target because its backlog was full (policy drop), as stored: a Push request counts one.",
    labelNames: ["target"],
    registers: [this.registry],
  });

  readonly backlogDroppedBytes = new Counter<"target">({
    name: "pyroscope_relay_backlog_dropped_bytes_total",
    help: "Payload bytes (as stored) acknowledged but not queued for a target because its backlog was full (policy drop).",
    labelNames: ["target"],
    registers: [this.registry],
  });

  /** What `inflightBodyBytes` reads at each scrape: the ingest role's body budget, once it has one. */
  #inflightBodyBytes: () => number = () => 0;

  /** Read at each scrape rather than set per request: the request path only adds and subtracts. */
  readonly inflightBodyBytes: Gauge = new Gauge({
    name: "pyroscope_relay_inflight_body_bytes",
    help: "Request body bytes (/ingest and Push) the receivers of this process hold in memory now, against --ingest.max-inflight-body-size.",
    registers: [this.registry],
    collect: () => {
      this.inflightBodyBytes.set(this.#inflightBodyBytes());
    },
  });

  readonly inflightBodyBytesLimit = new Gauge({
    name: "pyroscope_relay_inflight_body_bytes_limit",
    help: "--ingest.max-inflight-body-size: the request body bytes the receivers of this process hold at once (0: no bound).",
    registers: [this.registry],
  });

  readonly inflightBodyRefused = new Counter<"component" | "api">({
    name: "pyroscope_relay_inflight_body_refused_total",
    help: "Requests answered 503 because their body would have taken the bodies this process holds past --ingest.max-inflight-body-size.",
    labelNames: ["component", "api"],
    registers: [this.registry],
  });

  readonly redisMemoryFull = new Gauge({
    name: "pyroscope_relay_redis_memory_full",
    help: "1 while ingest refuses profiles (503) because Redis' used_memory is near its maxmemory.",
    registers: [this.registry],
  });

  readonly redisMastersShortOfReplicas = new Gauge({
    name: "pyroscope_relay_redis_masters_short_of_replicas",
    help: "Redis masters with fewer replicas online than --redis.min-replicas (always 0 without it): ingest refuses (503) the flushes that would write to them.",
    registers: [this.registry],
  });

  private readonly buildInfo = new Gauge<"version" | "nodejs_version">({
    name: "pyroscope_relay_build_info",
    help: "A metric with a constant '1' value labeled by the relay's version and the Node.js version it runs on.",
    labelNames: ["version", "nodejs_version"],
    registers: [this.registry],
  });

  readonly #queueState = new QueueStateMetrics(this.registry, this.writeDroppedProfiles, this.writeDroppedBytes);
  #queueStateSource: QueueStateSource | undefined;
  #onQueueStateError: ((error: unknown) => void) | undefined;
  #queueStateDeadlineMs = QUEUE_STATE_DEADLINE_MS;
  /** A reading still under way, which a scrape that gave up on it left behind: the next one waits for it again. */
  #pendingRead: Promise<QueueStateReading[] | undefined> | undefined;
  /** The last reading and when it came: a scrape asked for before that takes it rather than read again. */
  #lastReading: { at: number; readings: QueueStateReading[] | undefined } | undefined;
  /** The scrape under way: scrapes take turns, so that one's queue state never mixes with another's. */
  #scraping: Promise<unknown> = Promise.resolve();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.#queueState.show(undefined);
  }

  /** Sets `pyroscope_relay_build_info` for this process. */
  setBuildInfo(version: string): void {
    this.buildInfo.reset();
    this.buildInfo.set({ version, nodejs_version: process.version }, 1);
  }

  /** Feeds `pyroscope_relay_inflight_body_bytes`, read at every scrape. */
  readInflightBodyBytes(read: () => number): void {
    this.#inflightBodyBytes = read;
  }

  /**
   * Feeds the queue state, read at every scrape (`metrics()`). When it fails, or takes longer than
   * `deadlineMs` (a Redis that does not answer), the scrape has no queue state, this process counts
   * as no exporter, and `onError` hears why.
   */
  setQueueStateSource(source: QueueStateSource, onError?: (error: unknown) => void, deadlineMs = QUEUE_STATE_DEADLINE_MS): void {
    this.#queueStateSource = source;
    this.#onQueueStateError = onError;
    this.#queueStateDeadlineMs = deadlineMs;
  }

  /**
   * The Prometheus text exposition of every metric, with the queue state read now. Scrapes run one
   * at a time; the deadline on the queue state runs from when a scrape was asked for, so that scrapes
   * queued behind one that waits on a stalled Redis do not each wait their own deadline in turn.
   */
  metrics(): Promise<string> {
    const askedAt = Date.now();
    const scrape = this.#scraping.then(async () => {
      this.#queueState.show(await this.#readQueueState(askedAt));
      return this.registry.metrics();
    });
    this.#scraping = scrape.catch(() => undefined);
    return scrape;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async #readQueueState(askedAt: number): Promise<QueueStateReading[] | undefined> {
    const source = this.#queueStateSource;
    if (source === undefined) return undefined;
    // A scrape that waited behind another takes the reading that came meanwhile.
    if (this.#lastReading !== undefined && this.#lastReading.at > askedAt) return this.#lastReading.readings;
    const deadline = askedAt + this.#queueStateDeadlineMs;
    if (this.#pendingRead === undefined) {
      const read = source()
        .then((readings) => {
          this.#lastReading = { at: Date.now(), readings };
          return readings;
        })
        .finally(() => {
          this.#pendingRead = undefined;
        });
      read.catch(() => undefined);
      this.#pendingRead = read;
    }
    const ms = this.#queueStateDeadlineMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the queue state was not read within ${ms} ms`)), Math.max(0, deadline - Date.now()));
    });
    try {
      return await Promise.race([this.#pendingRead, late]);
    } catch (error) {
      // Redis being down or stalled is when the other metrics matter most: the scrape goes on without the queue state.
      this.#onQueueStateError?.(error);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}
