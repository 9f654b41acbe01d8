import { Counter, Gauge, type Registry } from "prom-client";
import { MonotonicTotals } from "./monotonic-totals.js";

/** The job states `pyroscope_relay_queue_jobs` reports. */
export type QueueJobState = "waiting" | "delayed" | "active" | "failed" | "prioritized";

/** What Redis holds about one target, as the deployment's queue-state exporter read it at a scrape. */
export interface QueueStateReading {
  target: string;
  /** The target's URL, the `endpoint` of the `pyroscope_write_dropped_*` series. */
  endpoint: string;
  jobs: Record<QueueJobState, number>;
  backlog: { bytes: number; profiles: number };
  /** 0 when no job waits. */
  oldestWaitingAgeSeconds: number;
  circuitOpen: boolean;
  deliveredProfiles: number;
  /** Profiles and bytes lost for good with failed batches discarded since the queue was created, by why, as Alloy counts them. */
  discarded: { reason: string; profiles: number; bytes: number }[];
}

/**
 * Reads the queue state at a scrape: `undefined` when another process of the deployment exports it
 * (see ExporterLease), so that a sum over every process counts it once.
 */
export type QueueStateSource = () => Promise<QueueStateReading[] | undefined>;

type DroppedLabel = "target" | "endpoint" | "reason";

/**
 * The deployment-wide figures read from Redis: set from a reading at each scrape of the process that
 * exports them, and absent from every other process. Totals kept in Redis (delivered, discarded) are
 * counters whose value is Redis' (never lower than this process exported before: MonotonicTotals);
 * discarded profiles join the process's own `pyroscope_write_dropped_*`.
 */
export class QueueStateMetrics {
  private readonly exporter: Gauge;
  private readonly jobs: Gauge<"target" | "state">;
  private readonly backlogBytes: Gauge<"target">;
  private readonly backlogProfiles: Gauge<"target">;
  private readonly oldestWaitingAge: Gauge<"target">;
  private readonly circuitOpen: Gauge<"target">;
  private readonly delivered: Counter<"target">;
  /** The `pyroscope_write_dropped_*` series the last reading set: replaced, not added to, by the next. */
  private discardedSeries: Record<DroppedLabel, string>[] = [];
  private readonly totals = new MonotonicTotals();

  constructor(
    registry: Registry,
    private readonly droppedProfiles: Counter<DroppedLabel>,
    private readonly droppedBytes: Counter<DroppedLabel>,
  ) {
    const registers = [registry];
    this.exporter = new Gauge({
      name: "pyroscope_relay_queue_state_exporter",
      help: "1 when this process exported the deployment's queue state at this scrape (it holds the exporter lease), else 0.",
      registers,
    });
    this.jobs = new Gauge({
      name: "pyroscope_relay_queue_jobs",
      help: "Jobs (batches) in each target's queue, by state, summed over its queue shards. Exported by one process per deployment.",
      labelNames: ["target", "state"],
      registers,
    });
    this.backlogBytes = new Gauge({
      name: "pyroscope_relay_queue_backlog_bytes",
      help: "Payload bytes of a target's backlog (jobs waiting, delayed or in delivery), as its backlog bound counts them. Exported by one process per deployment.",
      labelNames: ["target"],
      registers,
    });
    this.backlogProfiles = new Gauge({
      name: "pyroscope_relay_queue_backlog_profiles",
      help: "Profiles in a target's backlog (jobs waiting, delayed or in delivery), as its backlog bound counts them. Exported by one process per deployment.",
      labelNames: ["target"],
      registers,
    });
    this.oldestWaitingAge = new Gauge({
      name: "pyroscope_relay_queue_oldest_waiting_age_seconds",
      help: "Age of the oldest job next in line for a target (since it was queued or replayed); 0 when none waits. Exported by one process per deployment.",
      labelNames: ["target"],
      registers,
    });
    this.circuitOpen = new Gauge({
      name: "pyroscope_relay_circuit_open",
      help: "1 while the writers' circuit breaker pauses a target's queue (Retry-After, unreachable, errors), else 0. Exported by one process per deployment.",
      labelNames: ["target"],
      registers,
    });
    this.delivered = new Counter({
      name: "pyroscope_relay_queue_delivered_profiles_total",
      help: "Profiles of a target's batches that completed, since its queue was created (kept in Redis). Exported by one process per deployment.",
      labelNames: ["target"],
      registers,
    });
  }

  /** Shows `readings`, or nothing of the queue state when this process does not export it (undefined). */
  show(readings: readonly QueueStateReading[] | undefined): void {
    for (const metric of [this.jobs, this.backlogBytes, this.backlogProfiles, this.oldestWaitingAge, this.circuitOpen, this.delivered]) metric.reset();
    for (const labels of this.discardedSeries) {
      this.droppedProfiles.remove(labels);
      this.droppedBytes.remove(labels);
    }
    this.discardedSeries = [];
    this.exporter.set(readings === undefined ? 0 : 1);
    for (const reading of readings ?? []) {
      const target = { target: reading.target };
      for (const state of Object.keys(reading.jobs) as QueueJobState[]) this.jobs.set({ ...target, state }, reading.jobs[state]);
      this.backlogBytes.set(target, reading.backlog.bytes);
      this.backlogProfiles.set(target, reading.backlog.profiles);
      this.oldestWaitingAge.set(target, reading.oldestWaitingAgeSeconds);
      this.circuitOpen.set(target, reading.circuitOpen ? 1 : 0);
      this.delivered.inc(target, this.totals.value(JSON.stringify(["delivered", reading.target]), reading.deliveredProfiles));
      for (const { reason, profiles, bytes } of reading.discarded) {
        const labels = { target: reading.target, endpoint: reading.endpoint, reason };
        const key = [reading.target, reading.endpoint, reason];
        this.droppedProfiles.inc(labels, this.totals.value(JSON.stringify(["dropped profiles", ...key]), profiles));
        this.droppedBytes.inc(labels, this.totals.value(JSON.stringify(["dropped bytes", ...key]), bytes));
        this.discardedSeries.push(labels);
      }
    }
  }
}
