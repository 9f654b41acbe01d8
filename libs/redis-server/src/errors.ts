/** redis-server could not be started, did not answer PING in time, or its cluster did not form in time. */
export class RedisServerError extends Error {
  override name = "RedisServerError";
}

/** There is no redis-server on PATH: the caller may know a better way out (e.g. configuring a Redis URL). */
export class RedisServerNotFoundError extends RedisServerError {
  override name = "RedisServerNotFoundError";

  constructor(options?: ErrorOptions) {
    super("redis-server not found on PATH: install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)", options);
  }
}

/**
 * The storage path is taken: a redis-server already serves its socket (a relay runs there, or its
 * server was left running), or another relay holds the path's lock (it is starting there).
 */
export class StoragePathInUseError extends RedisServerError {
  override name = "StoragePathInUseError";

  constructor(
    readonly dir: string,
    readonly socket: string,
    readonly holder: "redis-server" | "relay" = "redis-server",
  ) {
    super(
      holder === "relay"
        ? `another relay is starting or running with --storage.path ${dir} (it holds the path's lock); stop it, or choose another --storage.path`
        : `a redis-server already serves ${socket}: another relay runs with --storage.path ${dir}, or its Redis was left running; ` +
            `stop that relay, or that server (it holds the queue: redis-cli -s ${socket} shutdown), or choose another --storage.path`,
    );
  }
}

/** A start was stopped while it waited for the server (its starter asked, while the server loaded its data, say); the server is stopped too. */
export class RedisServerStartStoppedError extends RedisServerError {
  override name = "RedisServerStartStoppedError";
}
