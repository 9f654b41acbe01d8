import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@pyroscope-relay/ops";
import { isCluster, type RedisConnection } from "@pyroscope-relay/queue";

/** What a process started, stopped in reverse order at shutdown. */
export type ShutdownStack = (() => Promise<void>)[];

/**
 * How long a connection's QUIT may take at shutdown. With Redis out of reach ioredis queues it behind
 * the commands it could not send (a worker connection retries them for ever), and a Redis that stopped
 * answering (frozen, or its network lost) never answers it.
 */
export const QUIT_MS = 2_000;

/**
 * The stacks whose shutdown met a Redis that did not answer a QUIT: their connections closed after
 * it disconnect at once, so that the shutdown waits `QUIT_MS` once, not once per connection.
 */
const unanswered = new WeakSet<ShutdownStack>();

/** Whether Redis answered every QUIT of this stack's shutdown so far. */
export function redisAnswering(stack: ShutdownStack): boolean {
  return !unanswered.has(stack);
}

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
    if (unanswered.has(stack)) {
      connection.disconnect();
      return;
    }
    const quit = connection.quit().then(
      () => true,
      () => false,
    );
    // Refused (a connection that queues nothing while Redis is away, or timed out) or not answered in time.
    if (await Promise.race([quit, sleep(QUIT_MS, false, { ref: false })])) return;
    unanswered.add(stack);
    connection.disconnect();
  });
  return connection;
}
