import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { track } from "./teardown.js";

const script = fileURLToPath(new URL("ingest.lua", import.meta.url));

export interface WrkLoad {
  /** Base URL of the receiver, e.g. `http://127.0.0.1:4041`. */
  url: string;
  connections: number;
  durationS: number;
  /** File whose bytes are every request's body. */
  bodyFile: string;
  /** Prefix of the profile ids (`<tag>-<thread>-<n>`), so that no two loads share an id. */
  tag: string;
  /** Requests per second over all connections; unpaced (as fast as answers come) without. */
  rate?: number;
}

export interface WrkResult {
  seconds: number;
  /** Answers by HTTP status, e.g. `{ "200": 81234 }`. */
  statuses: Record<string, number>;
  /** Requests that got no answer: connect, read and write errors, timeouts. */
  socketErrors: number;
  /** Every answer, whatever its status. */
  completed: number;
  ok: number;
  p50Ms: number;
  p99Ms: number;
  /** Status and start of the body of the first answer that was not a 200, if any. */
  firstFailure: string | null;
}

/** wrk is missing: the bench cannot run at all. */
export class WrkMissingError extends Error {
  override name = "WrkMissingError";
}

export function checkWrk(): void {
  const result = spawnSync("wrk", ["--version"], { stdio: "ignore" });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") {
    throw new WrkMissingError("install wrk: apt-get install wrk");
  }
}

/**
 * One wrk run. Latency percentiles are wrk's, which it corrects for coordinated omission: a request
 * slower than twice the mean interval also counts the requests it held back.
 */
export async function runWrk(load: WrkLoad): Promise<WrkResult> {
  // More threads than cores would only take CPU from the processes under test.
  const threads = Math.min(load.connections, availableParallelism());
  const args = [
    `--threads=${threads}`,
    `--connections=${load.connections}`,
    `--duration=${load.durationS}s`,
    "--timeout=10s",
    `--script=${script}`,
    load.url,
    "--",
    load.bodyFile,
    load.tag,
    ...(load.rate === undefined ? [] : [String(load.rate), String(threads)]),
  ];
  const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
  const stop = track(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const [code] = (await once(child, "exit")) as [number | null];
  await stop();
  const line = /^bench-result (.*)$/m.exec(output)?.[1];
  if (code !== 0 || line === undefined) throw new Error(`wrk ${args.join(" ")} exited with ${code}:\n${output}`);
  return result(JSON.parse(line) as RawResult);
}

/** What ingest.lua's done() prints. */
interface RawResult {
  durationUs: number;
  completed: number;
  statuses: Record<string, number>;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  p50Us: number;
  p99Us: number;
  firstFailure: string | null;
}

function result(raw: RawResult): WrkResult {
  const { connect, read, write, timeout } = raw.socketErrors;
  return {
    seconds: raw.durationUs / 1e6,
    statuses: raw.statuses,
    socketErrors: connect + read + write + timeout,
    completed: raw.completed,
    ok: raw.statuses["200"] ?? 0,
    p50Ms: raw.p50Us / 1000,
    p99Ms: raw.p99Us / 1000,
    firstFailure: raw.firstFailure,
  };
}
