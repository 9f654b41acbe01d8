import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface RedisServerOptions {
  /** Turn AOF persistence on (off by default, like a fresh Debian install). */
  appendonly?: boolean;
  /** AOF fsync policy; only meaningful with `appendonly`. Redis' default is `everysec`. */
  appendfsync?: "always" | "everysec";
  /** e.g. `"64mb"`; also sets `maxmemory-policy noeviction`, the only policy the relay accepts. */
  maxmemory?: string;
  /** Data directory to use instead of a fresh temp dir; it is kept by `stop()`. */
  dir?: string;
}

export interface RedisServerHandle {
  socketPath: string;
  /** `unix://<socketPath>`. */
  url: string;
  dir: string;
  /** SIGTERM, wait for exit, then remove the directory (unless the caller supplied it). */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash: the directory (and any AOF) stays for `restart()`. */
  kill(): Promise<void>;
  /** Stop the server if it runs (SIGTERM) and start it again on the same directory and socket. */
  restart(): Promise<void>;
}

/** redis-server could not be started, or did not answer PING in time. */
export class RedisServerError extends Error {
  override name = "RedisServerError";
}

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

/** Servers still running, so that a test file that forgets `stop()` or crashes leaves no orphan. */
const running = new Set<ChildProcess>();
const ownedDirs = new Set<string>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
  for (const dir of ownedDirs) rmSync(dir, { recursive: true, force: true });
});

/** Spawns a private redis-server listening only on a unix socket in a temp dir (no TCP port). */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "relay-redis-"));
  if (ownsDir) ownedDirs.add(dir);
  const socketPath = join(dir, "redis.sock");
  const args = serverArgs(dir, socketPath, options);
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    child = await spawnReady(args, socketPath, join(dir, "redis.log"));
  };
  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    if (child) await terminateChild(child, signal);
    child = undefined;
  };

  try {
    await start();
  } catch (error) {
    if (ownsDir) removeDir(dir);
    throw error;
  }
  return {
    socketPath,
    url: `unix://${socketPath}`,
    dir,
    async stop() {
      await terminate("SIGTERM");
      if (ownsDir) removeDir(dir);
    },
    kill: () => terminate("SIGKILL"),
    async restart() {
      await terminate("SIGTERM");
      await start();
    },
  };
}

function serverArgs(dir: string, socketPath: string, options: RedisServerOptions): string[] {
  const args = [
    "--port", "0",
    "--unixsocket", socketPath,
    "--unixsocketperm", "700",
    "--save", "",
    "--appendonly", options.appendonly ? "yes" : "no",
    "--dir", dir,
    "--logfile", join(dir, "redis.log"),
  ];
  if (options.appendfsync) args.push("--appendfsync", options.appendfsync);
  if (options.maxmemory) args.push("--maxmemory", options.maxmemory, "--maxmemory-policy", "noeviction");
  return args;
}

async function spawnReady(args: string[], socketPath: string, logPath: string): Promise<ChildProcess> {
  const child = spawn("redis-server", args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-2_000);
  });
  const failure = new Promise<never>((_, reject) => {
    child.once("error", (error: NodeJS.ErrnoException) => {
      const message = error.code === "ENOENT"
        ? "redis-server not found on PATH: install it (Debian: apt-get install redis-server)"
        : `could not spawn redis-server: ${error.message}`;
      reject(new RedisServerError(message, { cause: error }));
    });
    child.once("exit", (code, signal) => {
      reject(new RedisServerError(
        `redis-server exited before it was ready (code ${code}, signal ${signal}): ${stderr}${tail(logPath)}`,
      ));
    });
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  const polling = new AbortController();
  try {
    await Promise.race([failure, waitForPong(socketPath, polling.signal)]);
  } catch (error) {
    await terminateChild(child, "SIGKILL");
    throw error;
  } finally {
    polling.abort();
  }
  // Later exits (kill/stop) must not surface as unhandled rejections.
  failure.catch(() => undefined);
  return child;
}

async function waitForPong(socketPath: string, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && !signal.aborted) {
    if (await answersPing(socketPath)) return;
    await sleep(10);
  }
  throw new RedisServerError(`redis-server did not answer PING on ${socketPath} within ${READY_TIMEOUT_MS} ms`);
}

/** True once the server replies +PONG; a server still loading its AOF answers -LOADING instead. */
function answersPing(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let reply = "";
    const done = (ready: boolean) => {
      socket.destroy();
      resolve(ready);
    };
    socket.setEncoding("utf8");
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk: string) => {
      reply += chunk;
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
    socket.once("error", () => done(false));
  });
}

async function terminateChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  // No pid: it never started (ENOENT), so there is no exit to wait for.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  ownedDirs.delete(dir);
}

function tail(path: string): string {
  try {
    return readFileSync(path, "utf8").slice(-2_000);
  } catch {
    return "";
  }
}
