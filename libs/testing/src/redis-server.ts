import { join } from "node:path";
import { logPath, ownTempDir, persistenceArgs, redisProcess, removeDir, type PersistenceOptions } from "./redis-process.js";

export { RedisServerError } from "./redis-process.js";

export interface RedisServerOptions extends PersistenceOptions {
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

/** Spawns a private redis-server listening only on a unix socket in a temp dir (no TCP port). */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? ownTempDir("relay-redis-");
  const socketPath = join(dir, "redis.sock");
  const server = redisProcess(serverArgs(dir, socketPath, options), { path: socketPath }, logPath(dir));
  try {
    await server.start();
  } catch (error) {
    if (ownsDir) removeDir(dir);
    throw error;
  }
  return {
    socketPath,
    url: `unix://${socketPath}`,
    dir,
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

function serverArgs(dir: string, socketPath: string, options: PersistenceOptions): string[] {
  return [
    "--port", "0",
    "--unixsocket", socketPath,
    "--unixsocketperm", "700",
    ...persistenceArgs(dir, options),
  ];
}
