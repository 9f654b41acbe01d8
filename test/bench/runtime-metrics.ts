/**
 * What `ingest` says about itself over a load, from its own /metrics: how long its event loop stood
 * still, how much of that was garbage collection, and what its flushes were like. Where an ack's time
 * goes besides Redis: a request that arrives while the loop stands still waits with it.
 */
export interface RuntimeFigures {
  /** Longest and 99th percentile stall of the event loop, beyond Node's 10 ms sampling interval. */
  loopStallP99Ms: number;
  loopStallMaxMs: number;
  /** Pauses for garbage collection: minor (scavenges) and major (mark-compact, incremental steps). */
  gc: { kind: "minor" | "major"; collections: number; pauseMs: number }[];
  flushes: number;
  profilesPerFlush: number;
  /** Mean time of a stored flush: Redis' writes with their fsync, from the flush's start. */
  flushMeanMs: number;
}

/** The share of `seconds` spent in `pauseMs` of pauses. */
export function pauseShare(pauseMs: number, seconds: number): number {
  return pauseMs / 1000 / seconds;
}

/** prom-client samples the event loop with `monitorEventLoopDelay` at this resolution; each sample includes it. */
const LOOP_RESOLUTION_MS = 10;

/**
 * Reads one process' metrics before and after a load. The first read also empties prom-client's
 * event loop histogram (it resets on every scrape), so that start-up stays out of the figures.
 */
export class RuntimeProbe {
  private before: string | undefined;

  constructor(private readonly opsUrl: string) {}

  async start(): Promise<void> {
    this.before = await this.scrape();
  }

  async read(): Promise<RuntimeFigures> {
    if (this.before === undefined) throw new Error("RuntimeProbe.read() before start()");
    const after = await this.scrape();
    const delta = (name: string, labels = "") => sample(after, name, labels) - sample(this.before!, name, labels);
    const flushes = delta("pyroscope_relay_flush_duration_seconds_count", 'outcome="stored"');
    const stall = (name: string) => Math.max(0, sample(after, name) * 1000 - LOOP_RESOLUTION_MS);
    return {
      loopStallP99Ms: stall("nodejs_eventloop_lag_p99_seconds"),
      loopStallMaxMs: stall("nodejs_eventloop_lag_max_seconds"),
      gc: [
        {
          kind: "minor",
          collections: delta("nodejs_gc_duration_seconds_count", 'kind="minor"'),
          pauseMs: delta("nodejs_gc_duration_seconds_sum", 'kind="minor"') * 1000,
        },
        {
          kind: "major",
          collections: delta("nodejs_gc_duration_seconds_count", 'kind="major"') + delta("nodejs_gc_duration_seconds_count", 'kind="incremental"'),
          pauseMs: (delta("nodejs_gc_duration_seconds_sum", 'kind="major"') + delta("nodejs_gc_duration_seconds_sum", 'kind="incremental"')) * 1000,
        },
      ],
      flushes,
      profilesPerFlush: delta("pyroscope_relay_flush_profiles_sum") / flushes,
      flushMeanMs: (delta("pyroscope_relay_flush_duration_seconds_sum", 'outcome="stored"') * 1000) / flushes,
    };
  }

  private async scrape(): Promise<string> {
    const response = await fetch(`${this.opsUrl}/metrics`);
    if (!response.ok) throw new Error(`${this.opsUrl}/metrics answered ${response.status}`);
    return response.text();
  }
}

/** The value of one sample, `name{labels}` (labels as printed, in prom-client's order); 0 when absent. */
function sample(text: string, name: string, labels = ""): number {
  const line = text.split("\n").find((l) => l.startsWith(labels === "" ? `${name} ` : `${name}{${labels}} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}
