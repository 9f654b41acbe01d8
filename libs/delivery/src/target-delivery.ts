import type { Environment, TargetConfig } from "@pyroscope-relay/config";
import type { RelayMetrics, WriteLatencyType } from "@pyroscope-relay/ops";
import { compileRelabeling, type DroppedProfile, type Relabeling, rewriteIngestQuery } from "@pyroscope-relay/profile";
import type { AttemptOutcome, BatchDelivery, DeliveryReport, IngestProfileRef, OutgoingProfile } from "@pyroscope-relay/queue";
import { attempt } from "./attempt.js";
import type { QueryRewrite } from "./ingest-queries.js";
import { ingestRequest } from "./ingest-request.js";
import { combineSeries, pushRequest, pushSeries, type SeriesItem } from "./push-series.js";
import { Slots } from "./slots.js";
import { TargetCircuit } from "./target-circuit.js";
import { TargetClient, type TargetRequest } from "./target-client.js";

export interface TargetDeliveryOptions {
  target: TargetConfig;
  /** Requests in flight to the target at once, over all its batches (`--writer.concurrency`). */
  concurrency: number;
  metrics: RelayMetrics;
  /** Where `proxy_from_environment` reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY. */
  env: Environment;
  /** The target's rewrite of `/ingest` queries (shared with the process' other targets: IngestQueries); its own by default. */
  rewriteQuery?: QueryRewrite;
}

/** One downstream request and the profile parts it carries. */
interface Send {
  api: "ingest" | "push";
  parts: ReadonlyMap<number, readonly number[]>;
  request: TargetRequest;
  /** What its delivery counts as sent, as Alloy counts it. */
  counts: Sent;
  /** For a combined Push: two requests of half the series each, to find the series a target refuses. */
  halves?: () => [Send, Send];
}

/** An `/ingest` profile of a batch. */
interface IngestProfile {
  ref: IngestProfileRef;
  payload: Buffer;
}

/**
 * What an attempt learnt so far: the last retryable failure, a pause once the circuit opened, and
 * whether the attempt counts (a failure other than the target out of reach).
 */
interface AttemptState {
  retry?: AttemptOutcome["retry"];
  pauseMs?: number;
  pauseUsesAttempt?: boolean;
}

/**
 * What an attempt delivered, counted into the metrics once at its end: a labelled update hashes its
 * labels, and a request's three updates took about 7% of a writer's CPU. As Alloy counts: an
 * `/ingest` profile is one profile of its body's bytes; a Push, its samples and their raw profiles'
 * bytes (not the protobuf around them).
 */
interface Sent {
  bytes: number;
  profiles: number;
}

/** What one attempt's requests share: its report, signal and outcome, what it sent, whether a lane failed. */
interface AttemptContext {
  report: DeliveryReport;
  signal: AbortSignal;
  state: AttemptState;
  sent: Sent;
  /** An error of ours ended a lane: no more requests start. */
  failed: () => boolean;
}

/**
 * Delivers batches to one target: turns each profile into downstream requests (`/ingest` one per
 * profile; Push series of one tenant combined into few requests), sends them with the target's
 * concurrency, and classifies each answer with Alloy's retry rules. A combined Push refused for good
 * for what it carries (`invalid_argument` and the like) is narrowed down, half by half, until the
 * series the target refuses fail alone. Retry-After, an
 * unreachable target or a streak of retryable errors open the circuit: no more requests this attempt,
 * and the queue pauses.
 */
export class TargetDelivery {
  readonly deliver: BatchDelivery;
  private readonly target: TargetConfig;
  private readonly client: TargetClient;
  private readonly circuit: TargetCircuit;
  private readonly slots: Slots;
  private readonly labels: { target: string; endpoint: string };
  /** `labels` with each request type's, built once. */
  private readonly latencyLabels: Record<Send["api"], { target: string; endpoint: string; type: WriteLatencyType }>;
  private readonly rewriteQuery: QueryRewrite;
  /** The target's relabel rules, compiled; undefined when it has none. */
  private readonly relabeling: Relabeling | undefined;

  constructor(private readonly options: TargetDeliveryOptions) {
    this.target = options.target;
    this.client = new TargetClient(options.target, { env: options.env });
    this.circuit = new TargetCircuit(options.target.minBackoffMs, options.target.maxBackoffMs);
    this.slots = new Slots(options.concurrency);
    this.labels = { target: options.target.name, endpoint: options.target.url };
    this.latencyLabels = {
      ingest: { ...this.labels, type: "ingest_downstream" },
      push: { ...this.labels, type: "push_downstream" },
    };
    this.relabeling = compileRelabeling(options.target.relabel);
    this.rewriteQuery = options.rewriteQuery ?? ((query) => rewriteIngestQuery(query, options.target.externalLabels, this.relabeling));
    this.deliver = (profiles, report, signal) => this.deliverBatch(profiles, report, signal);
  }

  close(): Promise<void> {
    return this.client.close();
  }

  private async deliverBatch(profiles: readonly OutgoingProfile[], report: DeliveryReport, signal: AbortSignal): Promise<AttemptOutcome> {
    const ingest: IngestProfile[] = [];
    const series: SeriesItem[] = [];
    for (const { ref, payload, handledParts } of profiles) {
      if (ref.kind === "ingest") {
        ingest.push({ ref, payload });
        continue;
      }
      const planned = pushSeries(this.target, this.relabeling, ref, payload, handledParts);
      for (const { parts, failure } of planned.failures) report.failed(ref.index, parts, failure);
      for (const { part, droppedBy } of planned.dropped) this.dropped(ref.index, [part], { droppedBy }, report);
      series.push(...planned.items);
    }
    const groups = combineSeries(series);
    const count = ingest.length + groups.length;
    const state: AttemptState = {};
    const sent: Sent = { bytes: 0, profiles: 0 };
    // Once every request has started and the target can take one more, the next job may claim:
    // sooner, its requests would only queue behind these.
    const dispatched = () => void this.slots.whenFree().then(() => report.dispatched());
    if (count === 0) dispatched();
    // As many lanes as the target takes requests at once, each building a request when its turn
    // comes: a batch's requests, built all at first, outlived young-generation collections. Once the
    // circuit paused the target or shutdown began, no more are taken: the rest go back with the job.
    // An error of ours in one lane stops the others taking more, and the attempt ends with it once
    // their requests in flight are answered and reported: none is reported after it ended.
    let next = 0;
    let error: { cause: unknown } | undefined;
    const failed = () => error !== undefined;
    const more = () => !failed() && next < count && state.pauseMs === undefined && !signal.aborted;
    const lane = async (): Promise<void> => {
      try {
        while (more()) {
          await this.slots.run(async () => {
            // Another lane may have taken the last request while this one waited for its slot.
            if (!more()) return;
            const i = next++;
            if (next === count) dispatched();
            const send = i < ingest.length ? this.ingestSend(ingest[i]!, report) : pushSend(groups[i - ingest.length]!);
            if (send !== undefined) await this.send(send, { report, signal, state, sent, failed });
          });
        }
      } catch (cause) {
        error ??= { cause };
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, count) }, lane));
    if (sent.profiles > 0) {
      this.options.metrics.writeSentBytes.inc(this.labels, sent.bytes);
      this.options.metrics.writeSentProfiles.inc(this.labels, sent.profiles);
    }
    if (error !== undefined) throw error.cause;
    return state;
  }

  /** The request of an `/ingest` profile; a profile whose labels the target cannot take fails for good. */
  private ingestSend({ ref, payload }: IngestProfile, report: DeliveryReport): Send | undefined {
    const request = ingestRequest(this.rewriteQuery, ref, payload);
    if ("droppedBy" in request) this.dropped(ref.index, [0], request, report);
    else if ("reason" in request) report.failed(ref.index, [0], request);
    else return { api: "ingest", parts: new Map([[ref.index, [0]]]), request, counts: { bytes: request.body.length, profiles: 1 } };
    return undefined;
  }

  /** Parts a relabel rule dropped are done with, as Alloy's pyroscope.relabel drops them without an error. */
  private dropped(index: number, parts: readonly number[], { droppedBy }: DroppedProfile, report: DeliveryReport): void {
    report.delivered(index, parts);
    this.options.metrics.relabelDroppedProfiles.inc({ ...this.labels, component_id: droppedBy }, parts.length);
  }

  private async send(send: Send, context: AttemptContext): Promise<void> {
    const { report, signal, state, sent } = context;
    if (state.pauseMs !== undefined || signal.aborted || context.failed()) return;
    const started = performance.now();
    const result = await attempt(this.client, send.api, send.request, this.target.retryOnHttp429, signal);
    const { metrics } = this.options;
    // As Alloy, every downstream request whatever its answer; not one that shutdown cut short.
    if (!(result.kind === "retry" && signal.aborted)) metrics.writeLatency.observe(this.latencyLabels[send.api], (performance.now() - started) / 1000);
    switch (result.kind) {
      case "delivered": {
        this.circuit.delivered();
        sent.bytes += send.counts.bytes;
        sent.profiles += send.counts.profiles;
        for (const [index, parts] of send.parts) report.delivered(index, parts);
        return;
      }
      case "permanent":
        if (send.halves !== undefined && result.refusesContent) {
          for (const half of send.halves()) await this.send(half, context);
          return;
        }
        for (const [index, parts] of send.parts) report.failed(index, parts, result.failure);
        return;
      case "retry": {
        // Cut off by shutdown: not the target's doing.
        if (signal.aborted) return;
        state.retry = result.failure;
        const pause = this.circuit.pauseFor(result, { sentAt: started, failedAt: performance.now() });
        if (pause !== undefined) state.pauseMs = Math.max(state.pauseMs ?? 0, pause.pauseMs);
        // The attempt is free only if every failure in it was the target out of reach: any other (a
        // 500 below the streak, a reset) makes it count, or a profile the target always refuses would
        // be sent past max_backoff_retries. Each profile such a request carried counts a try (as Alloy
        // counts each request's retries); the job uses its attempt only once every profile left was tried.
        state.pauseUsesAttempt ||= pause?.usesAttempt ?? true;
        if (!result.unreachable) for (const [index, parts] of send.parts) report.retried(index, parts, result.failure);
      }
    }
  }
}

function pushSend(items: readonly SeriesItem[]): Send {
  const parts = new Map<number, number[]>();
  const counts: Sent = { bytes: 0, profiles: 0 };
  for (const { index, part, samples, rawBytes } of items) {
    parts.set(index, [...(parts.get(index) ?? []), part]);
    counts.bytes += rawBytes;
    counts.profiles += samples;
  }
  const middle = Math.ceil(items.length / 2);
  return {
    api: "push",
    parts,
    request: pushRequest(items),
    counts,
    ...(items.length > 1 ? { halves: () => [pushSend(items.slice(0, middle)), pushSend(items.slice(middle))] as [Send, Send] } : {}),
  };
}
