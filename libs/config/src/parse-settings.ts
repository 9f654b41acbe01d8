import { parseByteSize } from "./byte-size.js";
import { parseDuration } from "./duration.js";
import type { Environment } from "./evaluate.js";
import type { RelaySettings } from "./relay-settings.js";
import { SettingsError } from "./settings-error.js";

export interface ParsedSettings {
  settings: RelaySettings;
  /** Arguments that are not flags (command, config path), in order. */
  positionals: string[];
  /** The caller's boolean flags that were given, without their dashes. */
  flags: Set<string>;
  /** The caller's own value flags that were given (last one wins), keyed without their dashes. */
  options: Map<string, string>;
}

export interface SettingsOptions {
  /** Extra boolean flags the caller accepts, without dashes, e.g. `["json", "dry-run"]`. */
  booleanFlags?: readonly string[];
  /** Extra flags with a value the caller accepts (a command's own options), e.g. `["reason", "limit"]`. */
  valueFlags?: readonly string[];
}

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace"] as const;

/** Reads one value into the settings; throws an Error whose message says what is wrong with it. */
type Apply = (settings: RelaySettings, value: string) => void;

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw new Error(`expected a whole number of at least 1, got ${JSON.stringify(text)}`);
  }
  return value;
}

function nonNegativeInteger(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new Error(`expected a whole number (0 for no bound), got ${JSON.stringify(text)}`);
  }
  return value;
}

function positive(value: number, what: string): number {
  if (value <= 0) throw new Error(`${what} must be greater than 0`);
  return value;
}

/** `HOST:PORT`, `[IPv6]:PORT`, or a redis:// or rediss:// URL with a host and port. */
function isClusterNode(entry: string): boolean {
  if (entry.includes("://")) {
    if (!URL.canParse(entry)) return false;
    const url = new URL(entry);
    return (url.protocol === "redis:" || url.protocol === "rediss:") && url.hostname !== "" && url.port !== "";
  }
  const port = /^(?:\[[^\]]+\]|[^:[\]/]+):(\d{1,5})$/.exec(entry)?.[1];
  return port !== undefined && Number(port) > 0 && Number(port) <= 65535;
}

const settingsByFlag: Record<string, { env?: string; apply: Apply }> = {
  "redis.url": {
    env: "REDIS_URL",
    apply: (settings, text) => {
      // The URL may hold a password: never echo it. A bare absolute path is a unix socket.
      const isUrl = URL.canParse(text) && ["redis:", "rediss:", "unix:"].includes(new URL(text).protocol);
      if (!isUrl && !text.startsWith("/")) {
        throw new Error("expected a redis://, rediss:// or unix:// URL, or a socket path");
      }
      settings.redisUrl = text;
    },
  },
  "redis.cluster-nodes": {
    env: "RELAY_REDIS_CLUSTER_NODES",
    apply: (settings, text) => {
      const entries = text.split(",").map((entry) => entry.trim());
      // An entry may be a URL with a password: never echo one.
      const bad = entries.findIndex((entry) => !isClusterNode(entry));
      if (bad !== -1) throw new Error(`entry ${bad + 1} is not HOST:PORT (or a redis:// or rediss:// URL of one)`);
      settings.redisClusterNodes = entries.join(",");
    },
  },
  "redis.min-replicas": {
    env: "RELAY_REDIS_MIN_REPLICAS",
    apply: (settings, text) => {
      settings.redisMinReplicas = nonNegativeInteger(text);
    },
  },
  "redis.replica-timeout": {
    env: "RELAY_REDIS_REPLICA_TIMEOUT",
    apply: (settings, text) => {
      settings.redisReplicaTimeoutMs = positive(parseDuration(text), "the duration");
    },
  },
  "target.queue-shards": {
    env: "RELAY_TARGET_QUEUE_SHARDS",
    apply: (settings, text) => {
      const shards = positiveInteger(text);
      if (shards > 256) throw new Error(`at most 256, got ${shards}`);
      settings.queueShards = shards;
    },
  },
  "server.http.listen-addr": {
    env: "RELAY_SERVER_HTTP_LISTEN_ADDR",
    apply: (settings, text) => {
      const port = /^(?:\[[^\]]+\]|[^:[\]]*):(\d{1,5})$/.exec(text)?.[1];
      if (port === undefined || Number(port) > 65535) {
        throw new Error(`expected host:port such as 127.0.0.1:12345, got ${JSON.stringify(text)}`);
      }
      settings.opsListenAddr = text;
    },
  },
  "storage.path": {
    env: "RELAY_STORAGE_PATH",
    apply: (settings, text) => {
      if (text === "") throw new Error("must not be empty");
      settings.storagePath = text;
    },
  },
  "writer.concurrency": {
    env: "RELAY_WRITER_CONCURRENCY",
    apply: (settings, text) => {
      settings.writerConcurrency = positiveInteger(text);
    },
  },
  "ingest.max-body-size": {
    env: "RELAY_INGEST_MAX_BODY_SIZE",
    apply: (settings, text) => {
      settings.maxBodyBytes = positive(parseByteSize(text), "the size");
    },
  },
  "ingest.flush-max-profiles": {
    env: "RELAY_INGEST_FLUSH_MAX_PROFILES",
    apply: (settings, text) => {
      settings.flushMaxProfiles = positiveInteger(text);
    },
  },
  "ingest.flush-max-size": {
    env: "RELAY_INGEST_FLUSH_MAX_SIZE",
    apply: (settings, text) => {
      settings.flushMaxBytes = positive(parseByteSize(text), "the size");
    },
  },
  "queue.payload-ttl": {
    env: "RELAY_QUEUE_PAYLOAD_TTL",
    apply: (settings, text) => {
      settings.payloadTtlMs = positive(parseDuration(text), "the duration");
    },
  },
  "queue.prefix": {
    env: "RELAY_QUEUE_PREFIX",
    apply: (settings, text) => {
      // Braces would become a Redis Cluster hash tag and put every queue on one shard.
      if (!/^[^\s{}]+$/.test(text)) throw new Error("must be non-empty, without spaces or braces");
      settings.queuePrefix = text;
    },
  },
  target: {
    apply: (settings, text) => {
      if (text === "") throw new Error("must not be empty");
      if (!settings.targets.includes(text)) settings.targets.push(text);
    },
  },
  "queue.failed-max-age": {
    env: "RELAY_QUEUE_FAILED_MAX_AGE",
    apply: (settings, text) => {
      settings.failedMaxAgeMs = positive(parseDuration(text), "the duration");
    },
  },
  "queue.failed-max-count": {
    env: "RELAY_QUEUE_FAILED_MAX_COUNT",
    apply: (settings, text) => {
      settings.failedMaxCount = positiveInteger(text);
    },
  },
  "target.max-backlog-profiles": {
    env: "RELAY_TARGET_MAX_BACKLOG_PROFILES",
    apply: (settings, text) => {
      settings.backlogMaxProfiles = nonNegativeInteger(text);
    },
  },
  "target.max-backlog-size": {
    env: "RELAY_TARGET_MAX_BACKLOG_SIZE",
    apply: (settings, text) => {
      settings.backlogMaxBytes = parseByteSize(text);
    },
  },
  "target.backlog-full": {
    env: "RELAY_TARGET_BACKLOG_FULL",
    apply: (settings, text) => {
      if (text !== "drop" && text !== "reject") throw new Error(`expected drop or reject, got ${JSON.stringify(text)}`);
      settings.backlogFullPolicy = text;
    },
  },
  "target.max-age": {
    env: "RELAY_TARGET_MAX_AGE",
    apply: (settings, text) => {
      settings.maxAgeMs = parseDuration(text);
    },
  },
  "server.http.admin-token": {
    env: "RELAY_ADMIN_TOKEN",
    apply: (settings, text) => {
      // A secret: the message never repeats it.
      if (!/^[\x21-\x7e]{16,}$/.test(text)) throw new Error("must be at least 16 printable characters without spaces");
      settings.adminToken = text;
    },
  },
  "log.level": {
    env: "RELAY_LOG_LEVEL",
    apply: (settings, text) => {
      const level = logLevels.find((candidate) => candidate === text);
      if (!level) throw new Error(`expected one of ${logLevels.join(", ")}, got ${JSON.stringify(text)}`);
      settings.logLevel = level;
    },
  },
};

function defaults(): RelaySettings {
  return {
    redisMinReplicas: 0,
    redisReplicaTimeoutMs: 1_000,
    queueShards: 1,
    opsListenAddr: "127.0.0.1:12345",
    storagePath: "data",
    writerConcurrency: 4,
    maxBodyBytes: 32 * 2 ** 20,
    flushMaxProfiles: 500,
    flushMaxBytes: 8 * 2 ** 20,
    payloadTtlMs: 168 * 3600_000,
    queuePrefix: "pyroscope-relay",
    targets: [],
    failedMaxAgeMs: 168 * 3600_000,
    failedMaxCount: 10_000,
    backlogMaxProfiles: 100_000,
    backlogMaxBytes: 2 ** 30,
    backlogFullPolicy: "drop",
    maxAgeMs: 3600_000,
    logLevel: "info",
  };
}

function apply(settings: RelaySettings, setting: string, fn: Apply, value: string): void {
  try {
    fn(settings, value);
  } catch (error) {
    throw new SettingsError(setting, (error as Error).message, { cause: error });
  }
}

/**
 * Relay settings from command-line flags (`--flag=value` or `--flag value`) and environment
 * variables; a flag wins over its variable, an empty variable counts as unset. Throws a
 * SettingsError naming the flag or variable at fault.
 */
export function parseSettings(argv: readonly string[], env: Environment, options: SettingsOptions = {}): ParsedSettings {
  const booleanFlags = new Set(options.booleanFlags);
  const positionals: string[] = [];
  const flags = new Set<string>();
  const valueFlags = new Set(options.valueFlags);
  const commandOptions = new Map<string, string>();
  const given: Array<{ name: string; value: string }> = [];

  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === "--") {
      positionals.push(...argv.slice(index + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const [flag, inlineValue] = splitFlag(arg);
    const name = flag.replace(/^--/, "");
    if (flag.startsWith("--") && booleanFlags.has(name)) {
      if (inlineValue !== undefined) throw new SettingsError(flag, "does not take a value");
      flags.add(name);
      continue;
    }
    const isCommandOption = flag.startsWith("--") && valueFlags.has(name);
    if (!isCommandOption && (!flag.startsWith("--") || !Object.hasOwn(settingsByFlag, name))) {
      throw new SettingsError(flag, "unknown flag");
    }
    let value = inlineValue;
    if (value === undefined) {
      const next = argv[index + 1];
      if (next === undefined || next.startsWith("--")) throw new SettingsError(flag, "needs a value");
      value = next;
      index++;
    }
    if (isCommandOption) {
      commandOptions.set(name, value);
      continue;
    }
    given.push({ name, value });
  }

  const settings = defaults();
  for (const [name, { env: variable, apply: fn }] of Object.entries(settingsByFlag)) {
    const fromArgs = given.filter((entry) => entry.name === name);
    const fromEnv = variable === undefined ? undefined : env[variable];
    if (fromArgs.length === 0 && variable !== undefined && fromEnv) apply(settings, variable, fn, fromEnv);
    for (const { value } of fromArgs) apply(settings, `--${name}`, fn, value);
  }
  if (settings.redisUrl !== undefined && settings.redisClusterNodes !== undefined) {
    throw new SettingsError("--redis.cluster-nodes", "give either --redis.url (one Redis) or --redis.cluster-nodes (a cluster), not both");
  }
  return { settings, positionals, flags, options: commandOptions };
}

function splitFlag(arg: string): [flag: string, value: string | undefined] {
  const equals = arg.indexOf("=");
  return equals === -1 ? [arg, undefined] : [arg.slice(0, equals), arg.slice(equals + 1)];
}
