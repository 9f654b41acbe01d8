import { resolve as resolvePath } from "node:path";
import {
  flagTable,
  MalformedEscapeError,
  percentDecoded,
  PRODUCER_COMMAND_TIMEOUT_MS,
  SettingsError,
  type RedisTls,
  type RelaySettings,
} from "@pyroscope-relay/config";
import { Cluster, Redis, type ClusterNode, type RedisOptions } from "ioredis";
import { InvalidRedisUrlError, QueueUnavailableError, RedisClusterNodeError, RedisWaitStoppedError } from "./errors.js";
import { clearSilenceTimerOnClose } from "./silence-timer.js";

/**
 * - `producer`: used inside HTTP handlers; fails fast so ingest can answer 503 within 2 s while Redis is down.
 * - `worker`: BullMQ workers; waits for Redis as long as it takes (BullMQ requires `maxRetriesPerRequest: null`).
 * - `admin`: operator commands and the ops server; waits through a short outage, then gives up.
 */
export type RedisRole = "producer" | "worker" | "admin";

/** One Redis, or a Redis (or Valkey) Cluster through ioredis' `Cluster` client; BullMQ takes either. */
export type RedisConnection = Redis | Cluster;

/**
 * Where Redis is: a URL (see `createRedisConnection`), or the seed nodes of a cluster, `HOST:PORT`
 * entries separated by commas; an entry may be a `redis://` or `rediss://` URL instead, whose
 * credentials and TLS then apply to every node. `tls` adds to a `rediss://` URL's TLS: authorities,
 * a client certificate, the name to check.
 */
export type RedisEndpoint = string | { url: string; tls?: RedisTls } | { clusterNodes: string; tls?: RedisTls };

/**
 * The Redis the settings name (their TLS files read into `tls`), or undefined for the embedded one of `run`.
 * @throws SettingsError naming the flag, when the URL or the cluster nodes cannot be used (a usage error,
 * found before anything starts; the message hides any password)
 */
export function redisEndpointOf(settings: RelaySettings, tls: RedisTls | undefined): RedisEndpoint | undefined {
  const withTls = tls === undefined ? {} : { tls };
  if (settings.redisClusterNodes !== undefined) {
    const nodes = settings.redisClusterNodes;
    usable("redis.cluster-nodes", () => parseClusterNodes(nodes));
    return { clusterNodes: nodes, ...withTls };
  }
  if (settings.redisUrl !== undefined) {
    const url = settings.redisUrl;
    usable("redis.url", () => urlOptions(url));
    return { url, ...withTls };
  }
  return undefined;
}

/** Runs `parse`, its InvalidRedisUrlError made a SettingsError of flag `name` (and of its variable, as parseSettings names them). */
function usable(name: string, parse: () => unknown): void {
  try {
    parse();
  } catch (error) {
    if (!(error instanceof InvalidRedisUrlError)) throw error;
    const flag = flagTable.find((candidate) => candidate.name === name);
    const env = flag?.kind === "setting" ? flag.env : undefined;
    throw new SettingsError(env === undefined ? `--${name}` : `--${name} (or ${env})`, error.message, { cause: error });
  }
}

/**
 * How long an admin connection's command may wait for its answer: a Redis that stops answering
 * without closing the connection (stopped, or a network black hole) would otherwise hold the admin
 * API, the dashboard, an operator command and a retention sweep for ever.
 */
export const ADMIN_COMMAND_TIMEOUT_MS = 10_000;

/**
 * How long a connection waits for any answer to the commands it sent before it takes itself for dead,
 * destroys its socket and makes another (ioredis' `socketTimeout`). A network that loses a connection
 * without closing it (a partition, a NAT or load balancer that forgot the flow, a frozen host) would
 * otherwise hold it for ever while a new one would work: a writer's worker fetching nothing again,
 * ingest answering 503, for as long. Longer than any answer takes: a worker's blocking fetch waits up
 * to 10 s (BullMQ's ceiling), a producer's command times out at 1.5 s, an admin's at 10 s.
 */
export const SILENCE_LIMIT_MS: Readonly<Record<RedisRole, number>> = { producer: 5_000, worker: 20_000, admin: 15_000 };

const ROLE_OPTIONS: Record<RedisRole, RedisOptions> = {
  producer: { enableOfflineQueue: false, commandTimeout: PRODUCER_COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 1, connectTimeout: 1_500 },
  worker: { maxRetriesPerRequest: null },
  admin: { maxRetriesPerRequest: 2, connectTimeout: 5_000, commandTimeout: ADMIN_COMMAND_TIMEOUT_MS },
};

/** Capped so that a restarted Redis (or a promoted replica) is picked up within 2 s. */
const reconnectDelay = (times: number): number => Math.min(times * 100, 2_000);

/**
 * Opens an ioredis connection for `role`. A URL is one Redis: `redis://[user:password@]host[:port][/db]`,
 * `rediss://...` (TLS), `unix:///path/to/redis.sock[?db=N]` or a bare `/path/to/redis.sock`; `{ clusterNodes }`
 * is a cluster. It reconnects by itself, forever. Attach an `error` listener: ioredis prints unhandled errors.
 */
export function createRedisConnection(url: string, role: RedisRole, name?: string): Redis;
export function createRedisConnection(endpoint: RedisEndpoint, role: RedisRole, name?: string): RedisConnection;
export function createRedisConnection(endpoint: RedisEndpoint, role: RedisRole, name?: string): RedisConnection {
  const connection = clearSilenceTimerOnClose(openConnection(endpoint, role, name));
  endpoints.set(connection, endpoint);
  return connection;
}

/** The endpoint each connection was opened for, so that its errors can name it. */
const endpoints = new WeakMap<RedisConnection, RedisEndpoint>();

function openConnection(endpoint: RedisEndpoint, role: RedisRole, name?: string): RedisConnection {
  const common = {
    ...ROLE_OPTIONS[role],
    socketTimeout: SILENCE_LIMIT_MS[role],
    connectionName: name ?? `pyroscope-relay-${role}`,
    // ioredis waits this long for a socket that is already gone (Redis died) before letting the
    // process exit; 2 s by default.
    disconnectTimeout: 200,
    // BullMQ breaks with auto-pipelining (#457) and with ioredis keyPrefix (it has its own `prefix`).
    enableAutoPipelining: false,
  };
  if (typeof endpoint === "string") return new Redis({ ...urlOptions(endpoint), ...common, retryStrategy: reconnectDelay });
  if ("url" in endpoint) return new Redis({ ...withTls(urlOptions(endpoint.url), endpoint.tls), ...common, retryStrategy: reconnectDelay });
  const { nodes, options } = parseClusterNodes(endpoint.clusterNodes);
  const shared = withTls(options, endpoint.tls);
  const { enableOfflineQueue, ...nodeOptions } = common;
  return new Cluster(nodes, {
    redisOptions: { ...shared, ...nodeOptions },
    // ioredis dials a seed by the address its name resolves to, and TLS then checks the certificate
    // against that address, which certificates seldom hold: over TLS, seeds are dialed by name.
    ...(shared.tls === undefined ? {} : { dnsLookup: dialByName }),
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableAutoPipelining: false,
    clusterRetryStrategy: reconnectDelay,
    // A failover moves slots: ask again soon, and let a producer's command fail (503) rather than wait.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    slotsRefreshTimeout: 2_000,
    // ioredis' Cluster.connect() never settles when its ready check finds `cluster_state:fail` (it
    // reconnects by itself, but the promise of that connect is dropped), and BullMQ awaits that promise
    // when it renews a worker's blocking connection: a worker that did so during a failover took no job
    // again, ready and silent. Without the check the client is ready once it has the slot map, and a
    // command sent while the cluster is down gets CLUSTERDOWN, which it retries as any other.
    enableReadyCheck: false,
  });
}

function dialByName(hostname: string, callback: (error: null, address: string) => void): void {
  callback(null, hostname);
}

/** `options` of a `rediss://` URL with `tls` added (names as Node's TLS takes them); plain ones as they are. */
function withTls(options: RedisOptions, tls: RedisTls | undefined): RedisOptions {
  if (options.tls === undefined || tls === undefined) return options;
  const { serverName, ...pems } = tls;
  return { ...options, tls: { ...options.tls, ...pems, ...(serverName === undefined ? {} : { servername: serverName }) } };
}

/** Whether `connection` is a cluster client. */
export function isCluster(connection: RedisConnection): connection is Cluster {
  return connection instanceof Cluster;
}

/** The masters behind `connection`: itself for one Redis, each master's connection for a cluster. */
export function mastersOf(connection: RedisConnection): Redis[] {
  return isCluster(connection) ? connection.nodes("master") : [connection];
}

/** `connection`'s endpoint for logs and error messages, without any password. */
export function describeEndpoint(endpoint: RedisEndpoint): string {
  if (typeof endpoint === "string") return redactRedisUrl(endpoint);
  return "url" in endpoint
    ? redactRedisUrl(endpoint.url)
    : `cluster ${endpoint.clusterNodes
        .split(",")
        .map((node) => redactRedisUrl(node.trim()))
        .join(",")}`;
}

/**
 * Resolves once `redis` is connected and ready; rejects after `timeoutMs`, naming the endpoint (its
 * password hidden) when `createRedisConnection` opened the connection, and why it is not ready: the
 * last connection error, and on a cluster the last node's (a certificate that does not name the
 * address a node is announced at, say), or else what dialing a seed alone answers (ioredis reads
 * the slots on a connection whose errors it keeps to itself, a TLS failure included).
 * The client retries a refused or failed connection: only the deadline ends the wait (a Redis started
 * with the relay, or restarting, is waited for), or `signal`, with a RedisWaitStoppedError.
 * @throws RedisClusterNodeError when a connection for one Redis reached a node of a cluster
 */
export async function waitForRedis(redis: RedisConnection, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  await untilReady(redis, timeoutMs, signal);
  await refuseClusterNode(redis);
}

/**
 * One Redis that is a node of a cluster answers most keys with MOVED, which a client for one Redis
 * does not follow: every command would fail with a reply that does not say what to change.
 * A Redis that refuses INFO (an ACL) is taken as it is.
 */
async function refuseClusterNode(redis: RedisConnection): Promise<void> {
  if (isCluster(redis)) return;
  const info = await redis.info("cluster").catch(() => "");
  if (!/^cluster_enabled:1\b/m.test(info)) return;
  const endpoint = endpoints.get(redis);
  const at = endpoint === undefined ? "" : ` at ${describeEndpoint(endpoint)}`;
  throw new RedisClusterNodeError(
    `the Redis${at} is a node of a Redis Cluster (cluster_enabled:1): give the cluster's nodes with --redis.cluster-nodes (or RELAY_REDIS_CLUSTER_NODES) instead of --redis.url`,
  );
}

/**
 * Resolves once `redis` is ready; a cluster client once a master it knows answers too, as the client
 * runs without ioredis' own ready check (see `createRedisConnection`): masters it cannot reach at all
 * (their TLS name, say) are then found here, with the reason, and not at the first command. One
 * master down (a failover under way) does not keep the process from starting: the others serve.
 */
async function untilReady(redis: RedisConnection, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  if (redis.status === "ready" && !isCluster(redis)) return;
  if (signal?.aborted) throw new RedisWaitStoppedError("asked to stop while waiting for Redis");
  let lastError: Error | undefined;
  let nodeError: string | undefined;
  const onError = (error: Error) => {
    lastError = error;
  };
  // ioredis says "Connection is closed." of a node it gave up on: the reason, if any, came before.
  const onNodeError = (error: Error, address: string) => {
    if (error.message !== "Connection is closed.") nodeError = `${address}: ${error.message}`;
  };
  redis.on("error", onError);
  redis.on("node error", onNodeError);
  try {
    const ready = (async () => {
      // Not events.once: it rejects at the first "error", and ioredis reports each refused attempt.
      if (redis.status !== "ready") await new Promise((resolve) => redis.once("ready", resolve));
      if (isCluster(redis)) await Promise.any(redis.nodes("master").map((master) => master.ping()));
    })();
    // Settled late (or never, past the deadline), it must not count as unhandled.
    ready.catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        outcome();
      };
      const onAbort = () => finish(() => reject(new RedisWaitStoppedError("asked to stop while waiting for Redis")));
      signal?.addEventListener("abort", onAbort, { once: true });
      const timer = setTimeout(() => {
        void notReadyReason(redis, lastError, nodeError).then((why) => {
          const endpoint = endpoints.get(redis);
          const at = endpoint === undefined ? "" : ` at ${describeEndpoint(endpoint)}`;
          finish(() => reject(new QueueUnavailableError(`Redis${at} not ready within ${timeoutMs} ms (status ${redis.status})${why}`, { cause: lastError })));
        });
      }, timeoutMs);
      ready.then(
        () => finish(resolve),
        (error: unknown) => {
          lastError = error instanceof Error ? error : new Error(String(error));
        },
      );
    });
  } finally {
    redis.off("error", onError);
    redis.off("node error", onNodeError);
  }
}

/** How long a seed dialed alone (see waitForRedis) may take to answer. */
const SEED_PROBE_MS = 1_000;

async function notReadyReason(redis: RedisConnection, lastError: Error | undefined, nodeError: string | undefined): Promise<string> {
  // A cluster's error says only that no node answered; its last node's says why.
  const lastNodeError = (lastError as { lastNodeError?: unknown } | undefined)?.lastNodeError;
  const closed = lastNodeError instanceof Error && lastNodeError.message === "Connection is closed.";
  const detail = nodeError ?? (lastNodeError instanceof Error && !closed ? lastNodeError.message : isCluster(redis) ? await dialSeedAlone(redis) : undefined);
  if (lastError === undefined && detail === undefined) return "";
  return `: ${lastError?.message ?? "no error"}${detail === undefined ? "" : ` (${detail})`}`;
}

/** What the cluster's first seed answers when dialed alone, with the nodes' options: its error, or undefined. */
async function dialSeedAlone(cluster: Cluster): Promise<string | undefined> {
  const endpoint = endpoints.get(cluster);
  if (endpoint === undefined || typeof endpoint === "string" || !("clusterNodes" in endpoint)) return undefined;
  const [seed] = parseClusterNodes(endpoint.clusterNodes).nodes;
  if (seed === undefined || typeof seed !== "object") return undefined;
  const probe = new Redis({
    ...cluster.options.redisOptions,
    socketTimeout: undefined,
    host: seed.host,
    port: seed.port,
    lazyConnect: true,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    connectTimeout: SEED_PROBE_MS,
  });
  let failure: string | undefined;
  probe.on("error", (error: Error) => {
    failure ??= error.message;
  });
  try {
    await probe.connect();
    await probe.cluster("INFO");
    return undefined;
  } catch (error) {
    return `${seed.host}:${seed.port}: ${failure ?? (error as Error).message}`;
  } finally {
    probe.disconnect();
  }
}

/**
 * The URL with any password (or lone userinfo) and every query value but `db` replaced by `***`,
 * safe for logs and error messages: ioredis also takes `?password=`, and a mistyped URL (no `://`)
 * may still carry `user:password@`.
 */
export function redactRedisUrl(url: string): string {
  const schemeEnd = url.indexOf("://");
  const authorityStart = schemeEnd === -1 ? 0 : schemeEnd + 3;
  // Everything up to the last "@" may be userinfo: a password may hold "?", "/" or "@" itself.
  const at = url.lastIndexOf("@");
  let hidden = "";
  let rest = url.slice(authorityStart);
  if (at >= authorityStart) {
    const userinfo = url.slice(authorityStart, at);
    const colon = userinfo.indexOf(":");
    hidden = `${schemeEnd === -1 || colon === -1 ? "***" : `${userinfo.slice(0, colon)}:***`}@`;
    rest = url.slice(at + 1);
  }
  const queryStart = rest.indexOf("?");
  if (queryStart !== -1) {
    const params = rest
      .slice(queryStart + 1)
      .split("&")
      .map((param) => {
        const equals = param.indexOf("=");
        return equals === -1 || param.slice(0, equals) === "db" ? param : `${param.slice(0, equals)}=***`;
      });
    rest = `${rest.slice(0, queryStart)}?${params.join("&")}`;
  }
  return `${url.slice(0, authorityStart)}${hidden}${rest}`;
}

/**
 * The seed nodes of `--redis.cluster-nodes`, and the options every node shares: the credentials and
 * TLS of the entries given as URLs, which must agree (ioredis applies one set to all nodes).
 */
export function parseClusterNodes(text: string): { nodes: ClusterNode[]; options: RedisOptions } {
  const entries = text
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  const invalid = (reason: string) => new InvalidRedisUrlError(`invalid Redis cluster nodes "${entries.map(redactRedisUrl).join(",")}": ${reason}`);
  if (entries.length === 0) throw invalid("no node given");
  const nodes: ClusterNode[] = [];
  let shared: RedisOptions | undefined;
  for (const entry of entries) {
    const options = urlOptions(entry.includes("://") ? entry : `redis://${entry}`);
    if (options.host === undefined || options.path !== undefined) throw invalid(`"${redactRedisUrl(entry)}" is not HOST:PORT`);
    if (options.db !== undefined && options.db !== 0) throw invalid("a cluster has database 0 only");
    const { host, port, db: _, ...rest } = options;
    nodes.push({ host, port: port ?? 6379 });
    if (entry.includes("://")) {
      if (shared !== undefined && JSON.stringify(shared) !== JSON.stringify(rest)) throw invalid("nodes given as URLs must share credentials and TLS");
      shared = rest;
    }
  }
  return { nodes, options: shared ?? {} };
}

/** Refuses bytes that are not UTF-8; keeps a leading byte order mark, a character of the text. */
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function urlOptions(url: string): RedisOptions {
  if (url.startsWith("/")) return { path: url };
  const invalid = (reason: string, cause?: unknown) => new InvalidRedisUrlError(`invalid Redis URL "${redactRedisUrl(url)}": ${reason}`, { cause });
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw invalid("not a URL", cause);
  }
  for (const key of parsed.searchParams.keys()) {
    if (key !== "db") throw invalid(`unsupported parameter "${key}" (only "db" is)`);
  }
  // ioredis takes credentials and a socket path as strings: escapes must decode to UTF-8.
  const decoded = (text: string, part: string) => {
    let bytes;
    try {
      bytes = percentDecoded(text);
    } catch (cause) {
      if (!(cause instanceof MalformedEscapeError)) throw cause;
      throw invalid(`${part} holds ${cause.message}`, cause);
    }
    try {
      return utf8.decode(bytes);
    } catch (cause) {
      throw invalid(`${part} is not UTF-8 once %-decoded`, cause);
    }
  };
  const options: RedisOptions = {};
  if (parsed.username) options.username = decoded(parsed.username, "its username");
  if (parsed.password) options.password = decoded(parsed.password, "its password");
  let db = parsed.searchParams.get("db") ?? undefined;
  switch (parsed.protocol) {
    case "unix:":
      // unix:///abs/redis.sock, or unix://data/redis.sock: a path relative to the working directory,
      // as `run`'s embedded Redis is under the default --storage.path `data`.
      if (parsed.port) throw invalid("use unix:///absolute/path/to/redis.sock or unix://relative/path/to/redis.sock");
      options.path = resolvePath(decoded(`${parsed.host}${parsed.pathname}`, "its path"));
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
