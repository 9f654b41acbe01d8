import { createHash } from "node:crypto";
import { createServer, type Server } from "node:net";

/** The one relay on a storage path holds it: released with `release`, or by the kernel when its process ends. */
export interface StorageLock {
  release(): Promise<void>;
}

/**
 * Takes the storage path's lock: a Linux abstract unix socket named after the path, which no file
 * backs, so the kernel frees it when its process exits however it ends (no stale lock after a kill
 * -9). Two relays started at the same instant both find no Redis answering on the path; only one
 * binds the name. Resolves `undefined` when the lock is held elsewhere; where abstract sockets do
 * not exist (not Linux) there is no lock, and resolves a lock that holds nothing.
 */
export async function lockStoragePath(realDir: string): Promise<StorageLock | undefined> {
  if (process.platform !== "linux") return { release: async () => undefined };
  const name = `\0pyroscope-relay/storage/${createHash("sha256").update(realDir).digest("hex")}`;
  const server = createServer();
  // Nothing connects to it; a connection would only keep the process' handle busy.
  server.on("connection", (socket) => socket.destroy());
  const bound = await new Promise<boolean>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => (error.code === "EADDRINUSE" ? resolve(false) : reject(error)));
    server.listen({ path: name }, () => resolve(true));
  });
  if (!bound) return undefined;
  // The lock must not keep a relay that is otherwise done from exiting.
  server.unref();
  return { release: () => close(server) };
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
