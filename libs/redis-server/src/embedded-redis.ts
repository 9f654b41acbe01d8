import { chmod, mkdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { StoragePathInUseError } from "./errors.js";
import { answersOn, logPath, persistenceArgs, redisProcess, type RedisProcessOptions } from "./redis-process.js";
import { lockStoragePath } from "./storage-lock.js";

export interface EmbeddedRedis {
  /**
   * `<storage path>/redis.sock`, the socket's absolute path, which a Redis client takes as its URL: a
   * `unix://` URL of it would need a path holding `#`, `?` or `%` escaped.
   */
  url: string;
  /** SIGTERM (Redis flushes its AOF and exits), SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** Calls `listener` once if the server exits before `stop` (killed, crashed): the relay has no Redis then. */
  onUnexpectedExit(listener: (description: string) => void): void;
}

/** How long a stopping embedded Redis may take before it is killed: it has nothing to save (AOF fsynced per write). */
const STOP_GRACE_MS = 10_000;

/**
 * A private redis-server for the relay's `run` without a configured Redis: AOF fsynced before every
 * reply and noeviction, so that an acknowledged profile is on disk and survives a crash of the
 * process or host; its files and its unix socket (owner only) live under `storagePath`, and no TCP
 * port is opened.
 */
export async function startEmbeddedRedis(storagePath: string, options: RedisProcessOptions = {}): Promise<EmbeddedRedis> {
  const dir = resolve(storagePath);
  await mkdir(dir, { recursive: true });
  // The queue's payloads and tenants: for the owner alone, as its socket is; a directory of another
  // owner (a volume mounted for a group) is left as it was set up.
  if ((await stat(dir)).uid === process.getuid?.()) await chmod(dir, 0o700);
  const socket = join(dir, "redis.sock");
  // A second server on the same files would append to the same AOF, and remove the first one's
  // socket when it stops.
  if (await answersOn({ path: socket })) throw new StoragePathInUseError(dir, socket);
  // Held until the server has stopped: a relay started meanwhile would find no server answering.
  const lock = await lockStoragePath(dir);
  if (lock === undefined) throw new StoragePathInUseError(dir, socket, "relay");
  const args = [
    "--port",
    "0",
    "--unixsocket",
    socket,
    "--unixsocketperm",
    "700",
    ...persistenceArgs(dir, { appendonly: true, appendfsync: "always" }),
    "--maxmemory-policy",
    "noeviction",
  ];
  const server = redisProcess(args, { path: socket }, logPath(dir), options);
  try {
    await server.start();
  } catch (error) {
    await lock.release();
    throw error;
  }
  return {
    url: socket,
    stop: async (graceMs = STOP_GRACE_MS) => {
      try {
        await server.terminate("SIGTERM", graceMs);
      } finally {
        await lock.release();
      }
    },
    onUnexpectedExit: (listener) => server.onUnexpectedExit(listener),
  };
}
