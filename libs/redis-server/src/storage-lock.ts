import { stat } from "node:fs/promises";
import { createServer, type Server } from "node:net";

/** The one relay on a storage path holds it: released with `release`, or by the kernel when its process ends. */
export interface StorageLock {
  release(): Promise<void>;
}

/**
 * Takes the storage path's lock: a Linux abstract unix socket named after the directory (its device
 * and inode, so that one directory reached by two paths is one lock, and two volumes mounted at one
 * path are two), which no file backs: the kernel frees it when its process exits however it ends (no
 * stale lock after a kill -9). Two relays started at the same instant both find no Redis answering
 * on the path; only one binds the name. Abstract names are per network namespace: relays in
 * containers of their own sharing a volume are not kept apart by it. Resolves `undefined` when the
 * lock is held; where there are no abstract sockets (not Linux), or they are denied (a seccomp or
 * AppArmor profile), a lock that holds nothing, and the check that no Redis answers stands alone.
 */
export async function lockStoragePath(dir: string): Promise<StorageLock | undefined> {
  const none = { release: async () => undefined };
  if (process.platform !== "linux") return none;
  const { dev, ino } = await stat(dir, { bigint: true });
  const server = createServer();
  // Nothing connects to it; a connection would only keep the process' handle busy.
  server.on("connection", (socket) => socket.destroy());
  const bound = await new Promise<boolean | "denied">((resolve) => {
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "EADDRINUSE" ? false : "denied"));
    server.listen({ path: `\0pyroscope-relay/storage/${dev}:${ino}` }, () => resolve(true));
  });
  if (bound === "denied") return none;
  if (!bound) return undefined;
  // The lock must not keep a relay that is otherwise done from exiting.
  server.unref();
  return { release: () => close(server) };
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
