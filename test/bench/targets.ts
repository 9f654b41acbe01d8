import { startChild } from "./child-process.js";

/** One stand-in target's counts, as the targets process reports them. */
export interface TargetCounts {
  url: string;
  requests: number;
  /** Distinct profile ids received (the `id` label of the forwarded `name`). */
  distinct: number;
  /** Requests whose body was not the bench's body byte for byte. */
  badBodies: number;
  /** `Date.now()` when `distinct` reached the threshold asked for, null if not yet (or none asked). */
  reachedAt: number | null;
}

/** Asks for the counts, and when target `i`'s `distinct` reached `thresholds[i]` (if given). */
export interface StatsRequest {
  thresholds?: number[];
}

export interface Targets {
  urls: string[];
  /** The one process that serves them all. */
  pid: number;
  counts(thresholds?: number[]): Promise<TargetCounts[]>;
  stop(): Promise<void>;
}

/**
 * `count` fast stand-ins for Pyroscope in one separate process: 200 as soon as the body is read,
 * so that delivery is limited by the relay and not by them.
 */
export async function startTargets(count: number, bodyFile: string): Promise<Targets> {
  const child = await startChild<{ urls: string[] }>("targets-process.ts", [String(count), bodyFile]);
  return {
    urls: child.ready.urls,
    pid: child.pid,
    counts: (thresholds) => child.request<TargetCounts[]>({ thresholds } satisfies StatsRequest),
    stop: child.stop,
  };
}
