import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { logPath, persistenceArgs, redisCommand, redisProcess, RedisServerError, type PersistenceOptions } from "@pyroscope-relay/redis-server";
import { freePort } from "./free-port.js";
import { redisTlsArgs, type RedisTlsFiles } from "./redis-tls.js";
import { ownTempDir, removeDir } from "./temp-dir.js";

export { RedisServerError } from "@pyroscope-relay/redis-server";

export interface RedisServerOptions extends PersistenceOptions {
  /** Data directory to use instead of a fresh temp dir; it is kept by `stop()`. */
  dir?: string;
  /** Also listen on a free TCP port of 127.0.0.1 (`port` of the handle): replicas connect over TCP only. */
  tcp?: boolean;
  /** Start as a replica of this server (started with `tcp`), once it has synced with it. */
  replicaOf?: RedisServerHandle;
  /** Also listen with TLS on a free port (`tlsPort` of the handle), of 127.0.0.1 and ::1. */
  tls?: RedisTlsFiles;
}

export interface RedisServerHandle {
  socketPath: string;
  /** `unix://<socketPath>`. */
  url: string;
  dir: string;
  /** The TCP port on 127.0.0.1, with `tcp`. */
  port?: number;
  /** The TLS port, with `tls`. */
  tlsPort?: number;
  /** SIGTERM, wait for exit, then remove the directory (unless the caller supplied it). */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash: the directory (and any AOF) stays for `restart()`. */
  kill(): Promise<void>;
  /** Stop the server if it runs (SIGTERM) and start it again on the same directory and socket. */
  restart(): Promise<void>;
}

/** Spawns a private redis-server listening on a unix socket in a temp dir (and on TCP only with `tcp`). */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? ownTempDir("relay-redis-");
  const socketPath = join(dir, "redis.sock");
  const port = options.tcp ? await freePort() : undefined;
  const master = options.replicaOf?.port;
  if (options.replicaOf !== undefined && master === undefined) throw new RedisServerError("a replica needs a master started with tcp: true");
  const tlsPort = options.tls === undefined ? undefined : await freePort();
  const args = serverArgs(dir, socketPath, port, options);
  if (options.tls !== undefined && tlsPort !== undefined) args.push(...redisTlsArgs(options.tls, tlsPort));
  if (master !== undefined) args.push("--replicaof", "127.0.0.1", String(master));
  const server = redisProcess(args, { path: socketPath }, logPath(dir));
  try {
    await server.start();
    if (master !== undefined) await waitForSync(socketPath);
  } catch (error) {
    if (ownsDir) removeDir(dir);
    throw error;
  }
  return {
    socketPath,
    url: `unix://${socketPath}`,
    dir,
    ...(port === undefined ? {} : { port }),
    ...(tlsPort === undefined ? {} : { tlsPort }),
    async stop() {
      await server.terminate("SIGTERM");
      if (ownsDir) removeDir(dir);
    },
    kill: () => server.terminate("SIGKILL"),
    async restart() {
      await server.terminate("SIGTERM");
      await server.start();
    },
  };
}

const SYNC_TIMEOUT_MS = 10_000;

/** Resolves once the replica on `socketPath` has loaded its master's data and follows it. */
async function waitForSync(socketPath: string): Promise<void> {
  const deadline = Date.now() + SYNC_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const info = (await redisCommand({ path: socketPath }, ["INFO", "replication"])) ?? "";
    if (/^master_link_status:up\r?$/m.test(info)) return;
    await sleep(20);
  }
  throw new RedisServerError(`the replica on ${socketPath} did not sync with its master within ${SYNC_TIMEOUT_MS} ms`);
}

function serverArgs(dir: string, socketPath: string, port: number | undefined, options: PersistenceOptions): string[] {
  return [
    // Port 0: no TCP at all.
    "--port",
    String(port ?? 0),
    // Sync replicas through an RDB file: see redis-cluster.ts.
    ...(port === undefined ? [] : ["--bind", "127.0.0.1", "--repl-diskless-sync", "no"]),
    "--unixsocket",
    socketPath,
    "--unixsocketperm",
    "700",
    ...persistenceArgs(dir, options),
  ];
}
