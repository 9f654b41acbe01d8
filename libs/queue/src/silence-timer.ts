import type { Cluster, Redis } from "ioredis";

/** ioredis' own field: the timer of its `socketTimeout` option, armed while commands await an answer. */
interface SilenceTimer {
  socketTimeoutTimer?: NodeJS.Timeout;
}

/**
 * ioredis leaves a connection's `socketTimeout` timer running when the socket closes: a process that
 * closed its connections with a command in flight (a worker's blocking fetch, always) would be held
 * up to the limit, and the timer would then destroy the socket that replaced the closed one. Cleared
 * here as each socket closes, on `connection`, on the connections later duplicated from it (BullMQ's
 * blocking fetch) and on a cluster's node connections and theirs.
 */
export function clearSilenceTimerOnClose<C extends Redis | Cluster>(connection: C): C {
  if ("nodes" in connection) {
    // A node's duplicate is how ioredis reads the slot map.
    connection.on("+node", (node: Redis) => clearSilenceTimerOnClose(node));
    const duplicate = connection.duplicate.bind(connection);
    connection.duplicate = (...args: Parameters<Cluster["duplicate"]>) => clearSilenceTimerOnClose(duplicate(...args));
  } else {
    clearOnClose(connection);
    const duplicate = connection.duplicate.bind(connection);
    connection.duplicate = (...args: Parameters<Redis["duplicate"]>) => clearSilenceTimerOnClose(duplicate(...args));
  }
  return connection;
}

function clearOnClose(redis: Redis): void {
  redis.on("close", () => {
    const timer = redis as unknown as SilenceTimer;
    clearTimeout(timer.socketTimeoutTimer);
    timer.socketTimeoutTimer = undefined;
  });
}
