// Spawning a redis-server, waiting for it, talking to it, stopping it: for the relay's embedded Redis
// and for the servers and clusters of the tests alike.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { RedisServerError, RedisServerNotFoundError, RedisServerStartStoppedError } from "./errors.js";

/** Options of single servers and cluster nodes alike. */
export interface PersistenceOptions {
  /** Turn AOF persistence on (off by default, like a fresh Debian install). */
  appendonly?: boolean;
  /** AOF fsync policy; only meaningful with `appendonly`. Redis' default is `everysec`. */
  appendfsync?: "always" | "everysec";
  /** e.g. `"64mb"`; also sets `maxmemory-policy noeviction`, the only policy the relay accepts. */
  maxmemory?: string;
  /**
   * AOF growth that triggers a rewrite (`"1gb"` by default, as the relay should run: its AOF grows by
   * every payload byte while the data set stays small, and Redis' 64 MiB would fork a rewrite every
   * few seconds, costing about as much CPU as the writes; see docs/architecture.md).
   */
  aofRewriteMinSize?: string;
}

/** Where a server listens. */
export type RedisEndpoint = { path: string } | { host: string; port: number };

/** One redis-server command line, which can be started again after it stopped. */
export interface RedisProcess {
  /** Spawns redis-server and resolves once it answers PING. */
  start(): Promise<void>;
  /** Sends `signal` if the server runs and waits for its exit, sending SIGKILL after `graceMs` (5 s by default). */
  terminate(signal: NodeJS.Signals, graceMs?: number): Promise<void>;
  readonly running: boolean;
  /** Calls `listener` once if the started server exits without `terminate` (a crash, a kill, the OOM killer). */
  onUnexpectedExit(listener: (description: string) => void): void;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const COMMAND_TIMEOUT_MS = 2_000;
/** How long an exit waits for the rest of what the server printed. */
const STDERR_GRACE_MS = 500;

/** Servers still running, so that a process that exits without stopping them leaves no orphan. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Arguments for data dir, log file and persistence, shared by single servers and cluster nodes. */
export function persistenceArgs(dir: string, options: PersistenceOptions): string[] {
  const args = ["--save", "", "--appendonly", options.appendonly ? "yes" : "no", "--dir", dir, "--logfile", logPath(dir)];
  if (options.appendonly) args.push("--auto-aof-rewrite-min-size", options.aofRewriteMinSize ?? "1gb");
  if (options.appendfsync) args.push("--appendfsync", options.appendfsync);
  if (options.maxmemory) args.push("--maxmemory", options.maxmemory, "--maxmemory-policy", "noeviction");
  return args;
}

export function logPath(dir: string): string {
  return join(dir, "redis.log");
}

export interface RedisProcessOptions {
  /**
   * How long the server may take to answer PING once it stops answering `-LOADING` (10 s by default):
   * a server that loads its data answers, and is waited for however long its data takes.
   */
  readyTimeoutMs?: number;
  /** Aborts a start that waits for the server (its data still loading, say): the server is stopped, and `start` rejects. */
  signal?: AbortSignal;
}

export function redisProcess(args: string[], endpoint: RedisEndpoint, log: string, options: RedisProcessOptions = {}): RedisProcess {
  let child: ChildProcess | undefined;
  const listeners: ((description: string) => void)[] = [];
  return {
    async start() {
      const started = await spawnReady(args, endpoint, log, options.readyTimeoutMs ?? READY_TIMEOUT_MS, options.signal);
      child = started;
      started.once("exit", (code, signal) => {
        // Terminated on purpose: `child` was let go of first.
        if (child !== started) return;
        for (const listener of listeners.splice(0)) listener(`redis-server exited (code ${code}, signal ${signal}); see ${log}`);
      });
    },
    async terminate(signal, graceMs = STOP_TIMEOUT_MS) {
      const stopping = child;
      child = undefined;
      if (stopping) await terminateChild(stopping, signal, graceMs);
    },
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    onUnexpectedExit(listener) {
      listeners.push(listener);
    },
  };
}

/**
 * Sends one command on a fresh connection and resolves with its simple, integer or bulk string reply
 * (`null` for a null bulk string); an error reply rejects.
 */
export function redisCommand(endpoint: RedisEndpoint, args: string[]): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const socket = connect(endpoint);
    let received = Buffer.alloc(0);
    socket.setTimeout(COMMAND_TIMEOUT_MS, () => {
      socket.destroy(new Error(`no reply to ${args.join(" ")} from ${describe(endpoint)} within ${COMMAND_TIMEOUT_MS} ms`));
    });
    socket.once("connect", () => socket.write(encodeCommand(args)));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const reply = parseReply(received);
      if (reply === undefined) return;
      socket.destroy();
      if (reply instanceof Error) reject(reply);
      else resolve(reply.value);
    });
    socket.once("error", reject);
    socket.once("close", () => reject(new Error(`${describe(endpoint)} ${CLOSED_WITHOUT_REPLY}`)));
  });
}

const CLOSED_WITHOUT_REPLY = "closed the connection without a reply";

function encodeCommand(args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join("")}`;
}

/** `undefined` while the reply is incomplete. */
function parseReply(data: Buffer): { value: string | null } | Error | undefined {
  const lineEnd = data.indexOf("\r\n");
  if (lineEnd < 0) return undefined;
  const line = data.toString("utf8", 1, lineEnd);
  switch (data.toString("latin1", 0, 1)) {
    case "+":
    case ":":
      return { value: line };
    case "-":
      return new Error(line);
    case "$": {
      const length = Number(line);
      if (length < 0) return { value: null };
      const start = lineEnd + 2;
      return data.length < start + length + 2 ? undefined : { value: data.toString("utf8", start, start + length) };
    }
    default:
      return new Error(`unsupported reply: ${data.toString("utf8", 0, lineEnd)}`);
  }
}

/** jemalloc's setting that backs its memory with transparent huge pages where the kernel leaves it to the process. */
export const HUGE_PAGE_HEAP = "thp:always";

/**
 * The environment of a redis-server: `env` with jemalloc backing Redis' heap with huge pages, under
 * both names jemalloc reads (`MALLOC_CONF` for a system jemalloc, as Debian's Redis links;
 * `JE_MALLOC_CONF` for the one Redis builds itself), unless `env` sets them. Each 10 KiB payload in
 * fresh memory otherwise costs Redis two or three page faults, which on a virtual machine were most
 * of its CPU per profile (docs/performance.md, "Huge pages for Redis' heap"). Where the kernel's
 * setting is `madvise` (most distributions' default) this turns them on for Redis alone; where it
 * is `always`, Redis turns them off for itself (its `disable-thp`), and this changes nothing.
 */
export function redisEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, MALLOC_CONF: env.MALLOC_CONF ?? HUGE_PAGE_HEAP, JE_MALLOC_CONF: env.JE_MALLOC_CONF ?? HUGE_PAGE_HEAP };
}

/**
 * Whether `setpriv --pdeathsig` works here (util-linux, on Linux): then a server gets SIGTERM when the
 * process that started it dies, even by SIGKILL, instead of running on without it.
 */
let parentDeathSignal: boolean | undefined;
function hasParentDeathSignal(): boolean {
  parentDeathSignal ??= spawnSync("setpriv", ["--pdeathsig", "TERM", "--", "true"], { stdio: "ignore" }).status === 0;
  return parentDeathSignal;
}

/** setpriv's exit status when it cannot find the command it was to run. */
const COMMAND_NOT_FOUND = 127;

/**
 * Where it can, spawns the server with a parent-death signal, so that no server outlives its starter,
 * and then in a process group of its own, so that a signal to the starter's group (Ctrl-C in a
 * terminal, `kill -- -PGID`) reaches only the starter, which stops the server last, after what needs
 * it. Without one, the server stays in the starter's group, where such a signal still reaches it.
 */
function spawnServer(args: string[]): ChildProcess {
  const options: SpawnOptions = { stdio: ["ignore", "ignore", "pipe"], env: redisEnvironment() };
  if (!hasParentDeathSignal()) return spawn("redis-server", args, options);
  return spawn("setpriv", ["--pdeathsig", "TERM", "--", "redis-server", ...args], { ...options, detached: true });
}

/** Whether servers outlive no starter here (see spawnServer). */
export function serversFollowTheirStarter(): boolean {
  return hasParentDeathSignal();
}

async function spawnReady(args: string[], endpoint: RedisEndpoint, log: string, readyTimeoutMs: number, stop?: AbortSignal): Promise<ChildProcess> {
  const child = spawnServer(args);
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-2_000);
  });
  const failure = new Promise<never>((_, reject) => {
    child.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "ENOENT"
          ? new RedisServerNotFoundError({ cause: error })
          : new RedisServerError(`could not spawn redis-server: ${error.message}`, { cause: error }),
      );
    });
    child.once("exit", (code, signal) => {
      // What it printed may still be in the pipe when the exit is reported: read it first, for a while.
      void Promise.race([
        child.stderr ? once(child.stderr, "close").catch(() => undefined) : undefined,
        sleep(STDERR_GRACE_MS, undefined, { ref: false }),
      ]).then(() =>
        reject(
          code === COMMAND_NOT_FOUND && parentDeathSignal
            ? new RedisServerNotFoundError({ cause: new Error(stderr.trim()) })
            : new RedisServerError(`redis-server exited before it was ready (code ${code}, signal ${signal}): ${stderr}${tail(log)}`),
        ),
      );
    });
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  const polling = new AbortController();
  try {
    await Promise.race([failure, waitForPong(endpoint, readyTimeoutMs, stop === undefined ? polling.signal : AbortSignal.any([polling.signal, stop]))]);
  } catch (error) {
    // Asked to stop: as a stop does it (a loading server exits at once either way).
    await terminateChild(child, stop?.aborted ? "SIGTERM" : "SIGKILL", STOP_TIMEOUT_MS);
    throw error;
  } finally {
    polling.abort();
  }
  // Later exits (kill/stop) must not surface as unhandled rejections.
  failure.catch(() => undefined);
  return child;
}

async function waitForPong(endpoint: RedisEndpoint, timeoutMs: number, signal: AbortSignal): Promise<void> {
  let deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal.aborted) {
    const reply = await redisCommand(endpoint, ["PING"]).catch((error: unknown) => error as Error);
    if (reply === "PONG") return;
    // A server loading its data answers -LOADING: alive, and as slow as its AOF is large (a backlog
    // after a long outage, say). Killing it there would make its next start load it all again.
    if (reply instanceof Error && reply.message.startsWith("LOADING")) deadline = Date.now() + timeoutMs;
    await sleep(10);
  }
  if (signal.aborted) throw new RedisServerStartStoppedError(`asked to stop while redis-server on ${describe(endpoint)} was starting`);
  throw new RedisServerError(`redis-server did not answer PING on ${describe(endpoint)} within ${timeoutMs} ms`);
}

/**
 * Whether a server holds `endpoint`: it replies (an error reply included), or takes the connection
 * and stays silent (stopped, say). Nothing listening (no socket, or a stale one) is a socket error.
 */
export function answersOn(endpoint: RedisEndpoint): Promise<boolean> {
  return redisCommand(endpoint, ["PING"]).then(
    () => true,
    (error: NodeJS.ErrnoException) => error.code === undefined && !error.message.endsWith(CLOSED_WITHOUT_REPLY),
  );
}

async function terminateChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  // No pid: it never started (ENOENT), so there is no exit to wait for.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

function describe(endpoint: RedisEndpoint): string {
  return "path" in endpoint ? endpoint.path : `${endpoint.host}:${endpoint.port}`;
}

function tail(path: string): string {
  try {
    return readFileSync(path, "utf8").slice(-2_000);
  } catch {
    return "";
  }
}
