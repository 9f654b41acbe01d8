import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@pyroscope-relay/ops";
import { isCluster, type RedisConnection } from "@pyroscope-relay/queue";

/** What a process started, stopped in reverse order at shutdown. */
export type ShutdownStack = (() => Promise<void>)[];

/**
 * How long a connection's QUIT may take at shutdown: a Redis that stopped answering (frozen, or its
 * network lost) may not answer it, and ioredis would wait for ever.
 */
export const QUIT_MS = 2_000;

/**
 * Logs a connection's losses and returns (once per outage, not once per error: ioredis reconnects by
 * itself, and without a listener every failed attempt is an unhandled error), and closes it with
 * the process.
 */
export function track<Connection extends RedisConnection>(connection: Connection, stack: ShutdownStack, logger: Logger): Connection {
  const name = isCluster(connection) ? connection.options.redisOptions?.connectionName : connection.options.connectionName;
  let down = false;
  connection.on("error", (err: unknown) => {
    if (!down) logger.warn({ err, connection: name }, "Redis connection lost; reconnecting");
    down = true;
  });
  connection.on("ready", () => {
    if (down) logger.info({ connection: name }, "Redis connection back");
    down = false;
  });
  stack.push(async () => {
    // A connection that is not up could send QUIT only once Redis is back.
    if (connection.status !== "ready") {
      connection.disconnect();
      return;
    }
    const quit = connection.quit().then(
      () => true,
      () => false,
    );
    if (!(await Promise.race([quit, sleep(QUIT_MS, false, { ref: false })]))) connection.disconnect();
  });
  return connection;
}
