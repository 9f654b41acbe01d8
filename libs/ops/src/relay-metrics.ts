import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Labels of every writer metric: the target's name and its URL (Alloy's `endpoint`). */
export type WriterLabel = "target" | "endpoint";

export interface QueueDepth {
  target: string;
  /** A BullMQ job state: waiting, delayed, active, failed, ... */
  state: string;
  count: number;
}

export type QueueDepthSource = () => Promise<QueueDepth[]>;

/**
 * Every metric the relay exports, on a registry of its own (never prom-client's global one, so that
 * several relays in one process or test do not collide). Writer and receiver metrics keep Alloy's
 * names so that existing dashboards keep working.
 */
export class RelayMetrics {
  readonly registry = new Registry();

  readonly writeSentBytes = new Counter<WriterLabel>({
    name: "pyroscope_write_sent_bytes_total",
    help: "Total number of compressed bytes sent to Pyroscope.",
    labelNames: ["target", "endpoint"],
    registers: [this.registry],
  });

  readonly writeDroppedBytes = new Counter<WriterLabel>({
    name: "pyroscope_write_dropped_bytes_total",
    help: "Total number of compressed bytes dropped by Pyroscope.",
    labelNames: ["target", "endpoint"],
    registers: [this.registry],
  });

  readonly writeSentProfiles = new Counter<WriterLabel>({
    name: "pyroscope_write_sent_profiles_total",
    help: "Total number of profiles sent to Pyroscope.",
    labelNames: ["target", "endpoint"],
    registers: [this.registry],
  });

  readonly writeDroppedProfiles = new Counter<WriterLabel>({
    name: "pyroscope_write_dropped_profiles_total",
    help: "Total number of profiles dropped by Pyroscope.",
    labelNames: ["target", "endpoint"],
    registers: [this.registry],
  });

  readonly writeRetries = new Counter<WriterLabel>({
    name: "pyroscope_write_retries_total",
    help: "Total number of retries to Pyroscope.",
    labelNames: ["target", "endpoint"],
    registers: [this.registry],
  });

  readonly writeLatency = new Histogram<WriterLabel>({
    name: "pyroscope_write_latency",
    help: "Write latency for sending profiles to Pyroscope, in seconds.",
    labelNames: ["target", "endpoint"],
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

  readonly backlogFull = new Counter<"target" | "policy">({
    name: "pyroscope_relay_backlog_full_total",
    help: "Profiles that found a target's backlog at its bound, by target and policy (drop: dropped for that target; reject: request answered 429).",
    labelNames: ["target", "policy"],
    registers: [this.registry],
  });

  readonly backlogDroppedProfiles = new Counter<"target">({
    name: "pyroscope_relay_backlog_dropped_profiles_total",
    help: "Profiles acknowledged but not queued for a target because its backlog was full (policy drop).",
    labelNames: ["target"],
    registers: [this.registry],
  });

  readonly backlogDroppedBytes = new Counter<"target">({
    name: "pyroscope_relay_backlog_dropped_bytes_total",
    help: "Payload bytes acknowledged but not queued for a target because its backlog was full (policy drop).",
    labelNames: ["target"],
    registers: [this.registry],
  });

  readonly redisMemoryFull = new Gauge({
    name: "pyroscope_relay_redis_memory_full",
    help: "1 while ingest refuses profiles (503) because Redis' used_memory is near its maxmemory.",
    registers: [this.registry],
  });

  #queueDepthSource: QueueDepthSource | undefined;
  #onQueueDepthError: ((error: unknown) => void) | undefined;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const metrics = this;
    new Gauge<"target" | "state">({
      name: "pyroscope_relay_queue_jobs",
      help: "Jobs in each target's queue, by state, read from Redis at scrape time.",
      labelNames: ["target", "state"],
      registers: [this.registry],
      async collect() {
        // Forget targets and states the source no longer reports.
        this.reset();
        const source = metrics.#queueDepthSource;
        if (source === undefined) {
          return;
        }
        try {
          for (const { target, state, count } of await source()) {
            this.set({ target, state }, count);
          }
        } catch (error) {
          // Redis being down is when the other metrics matter most: the scrape goes on without depths.
          metrics.#onQueueDepthError?.(error);
        }
      },
    });
  }

  /**
   * Feeds `pyroscope_relay_queue_jobs`, called at every scrape. When it fails the gauge has no
   * series for that scrape and `onError` hears why.
   */
  setQueueDepthSource(source: QueueDepthSource, onError?: (error: unknown) => void): void {
    this.#queueDepthSource = source;
    this.#onQueueDepthError = onError;
  }

  /** The Prometheus text exposition of every metric. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
