import { once } from "node:events";
import { Redis, type RedisOptions } from "ioredis";
import { InvalidRedisUrlError, QueueUnavailableError } from "./errors.js";

/**
 * - `producer`: used inside HTTP handlers; fails fast so ingest can answer 503 within 2 s while Redis is down.
 * - `worker`: BullMQ workers; waits for Redis as long as it takes (BullMQ requires `maxRetriesPerRequest: null`).
 * - `admin`: operator commands and the ops server; waits through a short outage, then gives up.
 */
export type RedisRole = "producer" | "worker" | "admin";

/** What `createRedisConnection` returns, for packages that pass connections along without ioredis of their own. */
export type RedisConnection = Redis;

const ROLE_OPTIONS: Record<RedisRole, RedisOptions> = {
  producer: { enableOfflineQueue: false, commandTimeout: 1_500, maxRetriesPerRequest: 1, connectTimeout: 1_500 },
  worker: { maxRetriesPerRequest: null },
  admin: { maxRetriesPerRequest: 2, connectTimeout: 5_000 },
};

/**
 * Opens an ioredis connection for `role` to `url`: `redis://[user:password@]host[:port][/db]`, `rediss://...`
 * (TLS), `unix:///path/to/redis.sock[?db=N]` or a bare `/path/to/redis.sock`.
 * It reconnects by itself, forever. Attach an `error` listener: ioredis prints unhandled errors.
 */
export function createRedisConnection(url: string, role: RedisRole, name?: string): Redis {
  return new Redis({
    ...urlOptions(url),
    ...ROLE_OPTIONS[role],
    connectionName: name ?? `pyroscope-relay-${role}`,
    // Capped so that a restarted Redis is picked up within 2 s.
    retryStrategy: (times) => Math.min(times * 100, 2_000),
    // ioredis waits this long for a socket that is already gone (Redis died) before letting the
    // process exit; 2 s by default.
    disconnectTimeout: 200,
    // BullMQ breaks with auto-pipelining (#457) and with ioredis keyPrefix (it has its own `prefix`).
    enableAutoPipelining: false,
  });
}

/** Resolves once `redis` is connected and ready; rejects after `timeoutMs`. */
export async function waitForRedis(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === "ready") return;
  try {
    await once(redis, "ready", { signal: AbortSignal.timeout(timeoutMs) });
  } catch (cause) {
    throw new QueueUnavailableError(`Redis not ready within ${timeoutMs} ms (status ${redis.status})`, { cause });
  }
}

/** The URL with any password (or lone userinfo) replaced by `***`, safe for logs and error messages. */
export function redactRedisUrl(url: string): string {
  const schemeEnd = url.indexOf("://");
  if (schemeEnd === -1) return url;
  const rest = url.slice(schemeEnd + 3);
  const at = rest.lastIndexOf("@");
  if (at === -1) return url;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(":");
  const redacted = colon === -1 ? "***" : `${userinfo.slice(0, colon)}:***`;
  return `${url.slice(0, schemeEnd + 3)}${redacted}${rest.slice(at)}`;
}

function urlOptions(url: string): RedisOptions {
  if (url.startsWith("/")) return { path: url };
  const invalid = (reason: string, cause?: unknown) =>
    new InvalidRedisUrlError(`invalid Redis URL "${redactRedisUrl(url)}": ${reason}`, { cause });
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw invalid("not a URL", cause);
  }
  for (const key of parsed.searchParams.keys()) {
    if (key !== "db") throw invalid(`unsupported parameter "${key}" (only "db" is)`);
  }
  const options: RedisOptions = {};
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  let db = parsed.searchParams.get("db") ?? undefined;
  switch (parsed.protocol) {
    case "unix:":
      if (parsed.host || !parsed.pathname.startsWith("/")) throw invalid("use unix:///absolute/path/to/redis.sock");
      options.path = decodeURIComponent(parsed.pathname);
      break;
    case "redis:":
    case "rediss:": {
      if (!parsed.hostname) throw invalid("missing host");
      options.host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
      options.port = parsed.port ? Number(parsed.port) : 6379;
      const path = parsed.pathname.replace(/^\//, "");
      if (path) db = path;
      // Node takes the TLS server name (SNI) from the host.
      if (parsed.protocol === "rediss:") options.tls = {};
      break;
    }
    default:
      throw invalid(`unsupported scheme "${parsed.protocol}" (use redis:, rediss: or unix:)`);
  }
  if (db !== undefined) {
    if (!/^\d+$/.test(db)) throw invalid(`database "${db}" is not a number`);
    options.db = Number(db);
  }
  return options;
}
