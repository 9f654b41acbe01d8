import { isIP } from "node:net";
import { parseByteSize } from "./byte-size.js";
import { parseDuration } from "./duration.js";
import { isClusterNode, nonNegativeInteger, positive, positiveInteger, writerPriority } from "./flag-values.js";
import { PRODUCER_COMMAND_TIMEOUT_MS, type RelaySettings } from "./relay-settings.js";

/** The pyroscope-relay commands, in the order help lists them. */
export const commandNames = ["run", "ingest", "writer", "check", "failed", "replay", "purge"] as const;
export type CommandName = (typeof commandNames)[number];

interface FlagBase {
  /** Without its dashes: `redis.url`. */
  name: string;
  /** Literal values in backticks: the README shows it as it is, help without the backticks. */
  description: string;
  commands: readonly CommandName[];
}

/** A relay setting, from its flag or else its environment variable. */
export type SettingFlag = FlagBase & {
  kind: "setting";
  /** The value's name in help and the README: `--writer.concurrency N`. */
  value: string;
  env?: string;
  /** Reads one value into the settings; throws an Error that says what is wrong with it and never repeats a secret. */
  apply(settings: RelaySettings, text: string): void;
} & (
    | {
        /** The value when neither flag nor variable is given, written as a user would write it, and parsed like it. */
        default: string;
      }
    | {
        /** What no value means, for a setting without a default. */
        unset: string;
      }
  );

/** A command's own switch, returned among the given flags. */
export interface SwitchFlag extends FlagBase {
  kind: "switch";
}

/** A command's own value, returned as text: the command validates it (with the admin API's schema). */
export interface OptionFlag extends FlagBase {
  kind: "option";
  value: string;
  /** What leaving it out means. */
  unset: string;
}

export type Flag = SettingFlag | SwitchFlag | OptionFlag;

/**
 * run, ingest and writer take every relay setting, so that all the processes of a deployment can be given the same
 * flags (each uses what its role needs); check takes them too, to validate a process's flags before it runs.
 */
const relay = ["run", "ingest", "writer", "check"] as const;
const logLevels = ["fatal", "error", "warn", "info", "debug", "trace"] as const satisfies readonly RelaySettings["logLevel"][];
/** Alloy's `--stability.level` values. */
const stabilityLevels: readonly string[] = ["experimental", "public-preview", "generally-available"];

/** Every flag of every command: parsing, defaults, help and the README's flag table come from here. */
export const flagTable: readonly Flag[] = [
  {
    kind: "setting",
    name: "redis.url",
    env: "REDIS_URL",
    value: "URL",
    unset: "none",
    commands: commandNames,
    description: "one Redis: `redis://`, `rediss://` or `unix:///path.sock` (or the socket's path); without it run starts its own",
    apply: (settings, text) => {
      // The URL may hold a password: never echo it. A bare absolute path is a unix socket.
      const isUrl = URL.canParse(text) && ["redis:", "rediss:", "unix:"].includes(new URL(text).protocol);
      if (!isUrl && !text.startsWith("/")) {
        throw new Error("expected a redis://, rediss:// or unix:// URL, or a socket path");
      }
      settings.redisUrl = text;
    },
  },
  {
    kind: "setting",
    name: "redis.cluster-nodes",
    env: "RELAY_REDIS_CLUSTER_NODES",
    value: "NODES",
    unset: "none",
    commands: commandNames,
    description:
      "a Redis Cluster instead: `HOST:PORT[,HOST:PORT...]`; an entry may be a `redis://` or `rediss://` URL, whose password and TLS apply to every node",
    apply: (settings, text) => {
      const entries = text.split(",").map((entry) => entry.trim());
      // An entry may be a URL with a password: never echo one.
      const bad = entries.findIndex((entry) => !isClusterNode(entry));
      if (bad !== -1) throw new Error(`entry ${bad + 1} is not HOST:PORT (or a redis:// or rediss:// URL of one)`);
      settings.redisClusterNodes = entries.join(",");
    },
  },
  ...redisTlsFlags(),
  {
    kind: "setting",
    name: "redis.min-replicas",
    env: "RELAY_REDIS_MIN_REPLICAS",
    value: "N",
    default: "0",
    commands: relay,
    description:
      "answer 200 only once this many replicas of every master written to hold the flush (Redis `WAIT`), else 503; a master with fewer replicas online gets no flush (503 at once, or on a cluster the flush goes to other masters)",
    apply: (settings, text) => {
      settings.redisMinReplicas = nonNegativeInteger(text);
    },
  },
  {
    kind: "setting",
    name: "redis.replica-timeout",
    env: "RELAY_REDIS_REPLICA_TIMEOUT",
    value: "DURATION",
    default: "1s",
    commands: relay,
    description: "how long a flush waits for those replicas (less than 1.5s, the time a flush may take)",
    apply: (settings, text) => {
      const ms = positive(parseDuration(text), "the duration");
      // Past it, the connection gives up on WAIT while Redis still holds it blocked: every flush behind fails.
      if (ms >= PRODUCER_COMMAND_TIMEOUT_MS)
        throw new Error(`must be shorter than ${PRODUCER_COMMAND_TIMEOUT_MS / 1000}s, the time a flush may take, got ${text}`);
      settings.redisReplicaTimeoutMs = ms;
    },
  },
  {
    kind: "setting",
    name: "server.http.listen-addr",
    env: "RELAY_SERVER_HTTP_LISTEN_ADDR",
    value: "ADDR",
    default: "127.0.0.1:12345",
    commands: relay,
    description: "ops server: `/-/ready`, `/-/healthy`, `/metrics`, the dashboard and the admin API",
    apply: (settings, text) => {
      const port = /^(?:\[[^\]]+\]|[^:[\]]*):(\d{1,5})$/.exec(text)?.[1];
      if (port === undefined || Number(port) > 65535) {
        throw new Error(`expected host:port such as 127.0.0.1:12345, got ${JSON.stringify(text)}`);
      }
      settings.opsListenAddr = text;
    },
  },
  {
    kind: "setting",
    name: "server.http.admin-token",
    env: "RELAY_ADMIN_TOKEN",
    value: "TOKEN",
    unset: "none",
    commands: relay,
    description: "bearer token of the admin API (16+ characters); without one the API answers only on loopback",
    apply: (settings, text) => {
      // A secret: the message never repeats it.
      if (!/^[\x21-\x7e]{16,}$/.test(text)) throw new Error("must be at least 16 printable characters without spaces");
      settings.adminToken = text;
    },
  },
  {
    kind: "setting",
    name: "storage.path",
    env: "RELAY_STORAGE_PATH",
    value: "DIR",
    default: "data",
    commands: relay,
    description: "the directory of run's embedded Redis",
    apply: (settings, text) => {
      if (text === "") throw new Error("must not be empty");
      settings.storagePath = text;
    },
  },
  {
    kind: "setting",
    name: "log.level",
    env: "RELAY_LOG_LEVEL",
    value: "LEVEL",
    default: "info",
    commands: relay,
    description: "JSON logs (pino) at `fatal`, `error`, `warn`, `info`, `debug` or `trace`",
    apply: (settings, text) => {
      const level = logLevels.find((candidate) => candidate === text);
      if (!level) throw new Error(`expected one of ${logLevels.join(", ")}, got ${JSON.stringify(text)}`);
      settings.logLevel = level;
    },
  },
  {
    kind: "setting",
    name: "stability.level",
    value: "LEVEL",
    unset: "any",
    commands: relay,
    description:
      "taken as Alloy's command line takes it (receive_http's documentation asks for `public-preview`), and without effect: the relay runs its two components at any level; `experimental`, `public-preview` or `generally-available`",
    apply: (_settings, text) => {
      if (!stabilityLevels.includes(text)) throw new Error(`expected one of ${stabilityLevels.join(", ")}, got ${JSON.stringify(text)}`);
    },
  },
  {
    kind: "setting",
    name: "ingest.max-body-size",
    env: "RELAY_INGEST_MAX_BODY_SIZE",
    value: "SIZE",
    default: "32MiB",
    commands: relay,
    description: "larger bodies get 413 (`/ingest`), a Push `resource_exhausted` (429)",
    apply: (settings, text) => {
      settings.maxBodyBytes = positive(parseByteSize(text), "the size");
    },
  },
  {
    kind: "setting",
    name: "ingest.max-inflight-body-size",
    env: "RELAY_INGEST_MAX_INFLIGHT_BODY_SIZE",
    value: "SIZE",
    default: "512MiB",
    commands: relay,
    description:
      "request bodies (`/ingest`, Push) the receivers of one process hold in memory at once: a body that would take them past it while others are held gets 503 with `Retry-After` (a Push `unavailable`), one alone passes whatever its size (0 = no bound)",
    apply: (settings, text) => {
      settings.maxInflightBodyBytes = parseByteSize(text);
    },
  },
  {
    kind: "setting",
    name: "ingest.flush-max-profiles",
    env: "RELAY_INGEST_FLUSH_MAX_PROFILES",
    value: "N",
    default: "500",
    commands: relay,
    description: "profiles one write to Redis (a flush, a batch) carries at most",
    apply: (settings, text) => {
      settings.flushMaxProfiles = positiveInteger(text);
    },
  },
  {
    kind: "setting",
    name: "ingest.flush-max-size",
    env: "RELAY_INGEST_FLUSH_MAX_SIZE",
    value: "SIZE",
    default: "8MiB",
    commands: relay,
    description: "payload bytes one flush carries at most (a larger profile goes alone)",
    apply: (settings, text) => {
      settings.flushMaxBytes = positive(parseByteSize(text), "the size");
    },
  },
  {
    kind: "setting",
    name: "writer.concurrency",
    env: "RELAY_WRITER_CONCURRENCY",
    value: "N",
    default: "16",
    commands: relay,
    description:
      "deliveries in flight per target and process: at most N requests per round trip to the target (16 at 40 ms: 400 /ingest profiles/s), so raise it for a more distant or busier target",
    apply: (settings, text) => {
      settings.writerConcurrency = positiveInteger(text);
    },
  },
  {
    kind: "setting",
    name: "writer.claim-delay",
    env: "RELAY_WRITER_CLAIM_DELAY",
    value: "DURATION",
    default: "50ms",
    commands: relay,
    description:
      "a drain job claims no sooner than this after the flush that added it, so that at low load one claim carries the flushes of that span (0 = at once, at most 5s)",
    apply: (settings, text) => {
      const ms = parseDuration(text);
      // A job holds back the next of its target while it waits; BullMQ's lock lasts 30 s.
      if (ms > 5_000) throw new Error("must be at most 5s");
      settings.writerClaimDelayMs = ms;
    },
  },
  {
    kind: "setting",
    name: "writer.nice",
    env: "RELAY_WRITER_NICE",
    value: "PRIORITY",
    default: "idle",
    commands: relay,
    description:
      "the `writer` command lowers its own CPU priority, so that on a shared host acknowledgements (`ingest`, Redis) get the cores first: `idle` switches it to Linux' SCHED_IDLE policy (with `chrt`; nice 19 where that fails), under which any other process that wakes up takes the core at once; a number from 0 to 19 to that nice value (0 = as started; a process started nicer stays so); `run` never lowers it",
    apply: (settings, text) => {
      settings.writerPriority = writerPriority(text);
    },
  },
  {
    kind: "setting",
    name: "queue.prefix",
    env: "RELAY_QUEUE_PREFIX",
    value: "PREFIX",
    default: "pyroscope-relay",
    commands: commandNames,
    description: "Redis key prefix",
    apply: (settings, text) => {
      // Braces would become a Redis Cluster hash tag and put every queue on one shard.
      if (!/^[^\s{}]+$/.test(text)) throw new Error("must be non-empty, without spaces or braces");
      settings.queuePrefix = text;
    },
  },
  {
    kind: "setting",
    name: "queue.payload-ttl",
    env: "RELAY_QUEUE_PAYLOAD_TTL",
    value: "DURATION",
    default: "168h",
    commands: [...relay, "replay"],
    description: "safety net for stored profiles, and their new TTL on replay; at least `--queue.failed-max-age`",
    apply: (settings, text) => {
      settings.payloadTtlMs = positive(parseDuration(text), "the duration");
    },
  },
  {
    kind: "setting",
    name: "queue.failed-max-age",
    env: "RELAY_QUEUE_FAILED_MAX_AGE",
    value: "DURATION",
    default: "168h",
    commands: [...relay, "replay"],
    description: "failed batches older than this are deleted",
    apply: (settings, text) => {
      settings.failedMaxAgeMs = positive(parseDuration(text), "the duration");
    },
  },
  {
    kind: "setting",
    name: "queue.failed-max-count",
    env: "RELAY_QUEUE_FAILED_MAX_COUNT",
    value: "N",
    default: "10000",
    commands: relay,
    description: "failed batches kept per target (the newest)",
    apply: (settings, text) => {
      settings.failedMaxCount = positiveInteger(text);
    },
  },
  {
    kind: "setting",
    name: "target.queue-shards",
    env: "RELAY_TARGET_QUEUE_SHARDS",
    value: "N",
    default: "1",
    commands: commandNames,
    description: "BullMQ queues per target, on different slots (so masters) of a cluster; the same value for every process",
    apply: (settings, text) => {
      const shards = positiveInteger(text);
      if (shards > 256) throw new Error(`at most 256, got ${shards}`);
      settings.queueShards = shards;
    },
  },
  {
    kind: "setting",
    name: "target.max-backlog-profiles",
    env: "RELAY_TARGET_MAX_BACKLOG_PROFILES",
    value: "N",
    default: "100000",
    commands: relay,
    description: "profiles waiting, delayed or in delivery per target (0 = no bound)",
    apply: (settings, text) => {
      settings.backlogMaxProfiles = nonNegativeInteger(text);
    },
  },
  {
    kind: "setting",
    name: "target.max-backlog-size",
    env: "RELAY_TARGET_MAX_BACKLOG_SIZE",
    value: "SIZE",
    default: "1GiB",
    commands: relay,
    description: "payload bytes of those profiles per target (0 = no bound)",
    apply: (settings, text) => {
      settings.backlogMaxBytes = parseByteSize(text);
    },
  },
  {
    kind: "setting",
    name: "target.backlog-full",
    env: "RELAY_TARGET_BACKLOG_FULL",
    value: "POLICY",
    default: "drop",
    commands: relay,
    description: "a full target: `drop` the new profile for that target, or `reject` the request (429)",
    apply: (settings, text) => {
      if (text !== "drop" && text !== "reject") throw new Error(`expected drop or reject, got ${JSON.stringify(text)}`);
      settings.backlogFullPolicy = text;
    },
  },
  {
    kind: "setting",
    name: "target.max-age",
    env: "RELAY_TARGET_MAX_AGE",
    value: "DURATION",
    default: "1h",
    commands: relay,
    description: "profiles queued longer fail as `expired` without an attempt (0 = never)",
    apply: (settings, text) => {
      settings.maxAgeMs = parseDuration(text);
    },
  },
  {
    kind: "setting",
    name: "target",
    value: "NAME",
    unset: "all",
    commands: ["run", "writer", "failed", "replay", "purge"],
    description: "run, writer: deliver only to these targets; failed: count only these; replay, purge: the target (once, required); repeatable",
    apply: (settings, text) => {
      if (text === "") throw new Error("must not be empty");
      if (!settings.targets.includes(text)) settings.targets.push(text);
    },
  },
  {
    kind: "switch",
    name: "json",
    commands: ["failed"],
    description: 'print `{"targets": [...]}`, the admin API\'s answer',
  },
  {
    kind: "option",
    name: "reason",
    value: "TEXT",
    unset: "any",
    commands: ["replay", "purge"],
    description: "only batches whose failure reason is TEXT or starts with its words (`http` matches every `http <status>`), in any case",
  },
  {
    kind: "switch",
    name: "exact-reason",
    commands: ["replay", "purge"],
    description: "the reason is matched whole, not by its leading words (`http 422` then leaves out `http 422 invalid_argument`)",
  },
  {
    kind: "option",
    name: "status",
    value: "CODE",
    unset: "any",
    commands: ["replay", "purge"],
    description: "only batches that failed with this HTTP status",
  },
  {
    kind: "option",
    name: "since",
    value: "DURATION",
    unset: "any time",
    commands: ["replay"],
    description: "only batches that failed within this long (`2h`: in the last two hours)",
  },
  {
    kind: "option",
    name: "limit",
    value: "N",
    unset: "no limit",
    commands: ["replay"],
    description: "replay at most N batches, oldest first",
  },
  {
    kind: "switch",
    name: "dry-run",
    commands: ["replay", "purge"],
    description: "change nothing, print the same counts and the `--as-of` that acts on those batches alone",
  },
  {
    kind: "option",
    name: "as-of",
    value: "TIME",
    unset: "now",
    commands: ["replay", "purge"],
    description: "only batches that had failed by TIME (RFC 3339, as a dry run prints it): none that failed since",
  },
  {
    kind: "option",
    name: "older-than",
    value: "DURATION",
    unset: "any age",
    commands: ["purge"],
    description: "only failed batches older than this",
  },
];

/** The flags a command accepts, in the table's order. */
export function flagsOf(command: CommandName): Flag[] {
  return flagTable.filter((flag) => flag.commands.includes(command));
}

/** The flag as help and the README show it: `--redis.url URL`, `--json`. */
export function flagSynopsis(flag: Flag): string {
  return flag.kind === "switch" ? `--${flag.name}` : `--${flag.name} ${flag.value}`;
}

/**
 * A setting as errors found after parsing name it, `--redis.url (or REDIS_URL)`: by then it is not
 * known which of the two gave it.
 */
export function settingLabel(name: string): string {
  const flag = flagTable.find((candidate) => candidate.name === name);
  return flag?.kind === "setting" && flag.env !== undefined ? `--${name} (or ${flag.env})` : `--${name}`;
}

/** The files and name of TLS to a `rediss://` Redis, one Redis or every node of a cluster; read at start. */
function redisTlsFlags(): SettingFlag[] {
  const file = (name: string, env: string, description: string, key: "redisTlsCaFile" | "redisTlsCertFile" | "redisTlsKeyFile"): SettingFlag => ({
    kind: "setting",
    name,
    env,
    value: "FILE",
    unset: "none",
    commands: commandNames,
    description,
    apply: (settings, text) => {
      settings[key] = text;
    },
  });
  return [
    file(
      "redis.tls-ca-file",
      "RELAY_REDIS_TLS_CA_FILE",
      "PEM certificates of the authorities a `rediss://` Redis is checked against, instead of the system's",
      "redisTlsCaFile",
    ),
    file(
      "redis.tls-cert-file",
      "RELAY_REDIS_TLS_CERT_FILE",
      "PEM client certificate for a `rediss://` Redis that asks for one (Redis' `tls-auth-clients`), with the key file",
      "redisTlsCertFile",
    ),
    file("redis.tls-key-file", "RELAY_REDIS_TLS_KEY_FILE", "PEM private key of that client certificate", "redisTlsKeyFile"),
    {
      kind: "setting",
      name: "redis.tls-server-name",
      env: "RELAY_REDIS_TLS_SERVER_NAME",
      value: "NAME",
      unset: "the host dialed",
      commands: commandNames,
      description: "the name a `rediss://` Redis' certificate must hold, for nodes a cluster announces by IP address while their certificates name a host",
      apply: (settings, text) => {
        // Node sends no server name for an address, and checks a certificate's names against it.
        if (isIP(text) !== 0 || !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(text)) throw new Error(`expected a host name, got ${JSON.stringify(text)}`);
        settings.redisTlsServerName = text;
      },
    },
  ];
}
