import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSettings, settingsOptionsFor } from "./parse-settings.js";
import { SettingsError } from "./settings-error.js";

function settingsError(argv: string[], env: Record<string, string>, setting: string, message: string) {
  assert.throws(
    () => parseSettings(argv, env),
    (error: unknown) => {
      assert.ok(error instanceof SettingsError);
      assert.equal(error.setting, setting);
      assert.equal(error.message, `${setting}: ${message}`);
      return true;
    },
  );
}

test("defaults every setting", () => {
  assert.deepEqual(parseSettings([], {}), {
    settings: {
      redisMinReplicas: 0,
      redisReplicaTimeoutMs: 1_000,
      queueShards: 1,
      opsListenAddr: "127.0.0.1:12345",
      storagePath: "data",
      writerConcurrency: 16,
      writerClaimDelayMs: 50,
      writerPriority: "idle",
      maxBodyBytes: 32 * 1024 * 1024,
      maxInflightBodyBytes: 512 * 1024 * 1024,
      flushMaxProfiles: 500,
      flushMaxBytes: 8 * 1024 * 1024,
      payloadTtlMs: 168 * 3600 * 1000,
      queuePrefix: "pyroscope-relay",
      targets: [],
      failedMaxAgeMs: 168 * 3600 * 1000,
      failedMaxCount: 10_000,
      backlogMaxProfiles: 100_000,
      backlogMaxBytes: 1024 ** 3,
      backlogFullPolicy: "drop",
      maxAgeMs: 3600 * 1000,
      logLevel: "info",
    },
    positionals: [],
    flags: new Set(),
    options: new Map(),
  });
});

test("reads every flag, as --flag=value or --flag value, keeping positionals in order", () => {
  const { settings, positionals } = parseSettings(
    [
      "writer",
      "--redis.url=redis://:pw@redis:6379/0",
      "--server.http.listen-addr",
      "0.0.0.0:9000",
      "--storage.path=/var/lib/relay",
      "--writer.concurrency",
      "16",
      "--writer.claim-delay=200ms",
      "--writer.nice",
      "19",
      "--ingest.max-body-size=8MiB",
      "--ingest.max-inflight-body-size=0",
      "--ingest.flush-max-profiles",
      "64",
      "--ingest.flush-max-size=1MiB",
      "--queue.payload-ttl",
      "24h",
      "--queue.prefix=relay:eu",
      "--target",
      "prod/eu",
      "--target=staging",
      "--target=prod/eu",
      "--log.level=debug",
      "--queue.failed-max-age=48h",
      "--queue.failed-max-count=50",
      "--target.max-backlog-profiles=0",
      "--target.max-backlog-size=64MiB",
      "--target.backlog-full=reject",
      "--target.max-age=2h",
      "--server.http.admin-token=0123456789abcdef",
      "relay.alloy",
    ],
    {},
  );
  assert.deepEqual(settings, {
    redisUrl: "redis://:pw@redis:6379/0",
    redisMinReplicas: 0,
    redisReplicaTimeoutMs: 1_000,
    queueShards: 1,
    opsListenAddr: "0.0.0.0:9000",
    storagePath: "/var/lib/relay",
    writerConcurrency: 16,
    writerClaimDelayMs: 200,
    writerPriority: 19,
    maxBodyBytes: 8 * 1024 * 1024,
    maxInflightBodyBytes: 0,
    flushMaxProfiles: 64,
    flushMaxBytes: 1024 * 1024,
    payloadTtlMs: 24 * 3600 * 1000,
    queuePrefix: "relay:eu",
    targets: ["prod/eu", "staging"],
    failedMaxAgeMs: 48 * 3600 * 1000,
    failedMaxCount: 50,
    backlogMaxProfiles: 0,
    backlogMaxBytes: 64 * 1024 * 1024,
    backlogFullPolicy: "reject",
    maxAgeMs: 2 * 3600 * 1000,
    adminToken: "0123456789abcdef",
    logLevel: "debug",
  });
  assert.deepEqual(positionals, ["writer", "relay.alloy"]);
});

test("reads environment variables, and a flag wins over its variable", () => {
  const env = {
    REDIS_URL: "rediss://redis:6380",
    RELAY_SERVER_HTTP_LISTEN_ADDR: "[::1]:1234",
    RELAY_STORAGE_PATH: "/data",
    RELAY_WRITER_CONCURRENCY: "2",
    RELAY_WRITER_CLAIM_DELAY: "0",
    RELAY_WRITER_NICE: "0",
    RELAY_INGEST_MAX_BODY_SIZE: "1048576",
    RELAY_INGEST_MAX_INFLIGHT_BODY_SIZE: "64MiB",
    RELAY_INGEST_FLUSH_MAX_PROFILES: "10",
    RELAY_INGEST_FLUSH_MAX_SIZE: "2MiB",
    RELAY_QUEUE_PAYLOAD_TTL: "1h",
    RELAY_QUEUE_PREFIX: "p",
    RELAY_LOG_LEVEL: "warn",
    RELAY_QUEUE_FAILED_MAX_AGE: "1h",
    RELAY_QUEUE_FAILED_MAX_COUNT: "7",
    RELAY_TARGET_MAX_BACKLOG_PROFILES: "10",
    RELAY_TARGET_MAX_BACKLOG_SIZE: "1KiB",
    RELAY_TARGET_BACKLOG_FULL: "reject",
    RELAY_TARGET_MAX_AGE: "0s",
    RELAY_ADMIN_TOKEN: "token-from-the-environment",
  };
  assert.deepEqual(parseSettings([], env).settings, {
    redisUrl: "rediss://redis:6380",
    redisMinReplicas: 0,
    redisReplicaTimeoutMs: 1_000,
    queueShards: 1,
    opsListenAddr: "[::1]:1234",
    storagePath: "/data",
    writerConcurrency: 2,
    writerClaimDelayMs: 0,
    writerPriority: 0,
    maxBodyBytes: 1_048_576,
    maxInflightBodyBytes: 64 * 1024 * 1024,
    flushMaxProfiles: 10,
    flushMaxBytes: 2 * 1024 * 1024,
    payloadTtlMs: 3_600_000,
    queuePrefix: "p",
    targets: [],
    failedMaxAgeMs: 3_600_000,
    failedMaxCount: 7,
    backlogMaxProfiles: 10,
    backlogMaxBytes: 1024,
    backlogFullPolicy: "reject",
    maxAgeMs: 0,
    adminToken: "token-from-the-environment",
    logLevel: "warn",
  });
  assert.equal(parseSettings(["--writer.concurrency=8"], env).settings.writerConcurrency, 8);
  assert.equal(parseSettings(["--writer.concurrency=8"], { RELAY_WRITER_CONCURRENCY: "bad" }).settings.writerConcurrency, 8);
});

test("treats an empty environment variable as unset", () => {
  assert.equal(parseSettings([], { RELAY_LOG_LEVEL: "", REDIS_URL: "" }).settings.logLevel, "info");
  assert.equal(parseSettings([], { REDIS_URL: "" }).settings.redisUrl, undefined);
});

test("--stability.level is taken as Alloy takes it, and changes nothing", () => {
  assert.deepEqual(parseSettings(["--stability.level=public-preview"], {}).settings, parseSettings([], {}).settings);
});

test("the last of a repeated flag wins", () => {
  assert.equal(parseSettings(["--log.level=warn", "--log.level", "error"], {}).settings.logLevel, "error");
});

test("returns the caller's boolean flags", () => {
  const parsed = parseSettings(["check", "--json", "relay.alloy", "--dry-run"], {}, { booleanFlags: ["json", "dry-run", "all"] });
  assert.deepEqual(parsed.flags, new Set(["json", "dry-run"]));
  assert.deepEqual(parsed.positionals, ["check", "relay.alloy"]);
});

test("everything after -- is positional, and a lone - is positional", () => {
  assert.deepEqual(parseSettings(["-", "--", "--target", "x"], {}).positionals, ["-", "--target", "x"]);
});

test("rejects unknown flags", () => {
  settingsError(["--nope"], {}, "--nope", "unknown flag");
  settingsError(["--nope=1"], {}, "--nope", "unknown flag");
  settingsError(["-v"], {}, "-v", "unknown flag");
  settingsError(["--json"], {}, "--json", "unknown flag");
  settingsError(["--toString"], {}, "--toString", "unknown flag");
});

test("rejects a boolean flag given a value", () => {
  assert.throws(() => parseSettings(["--json=false"], {}, { booleanFlags: ["json"] }), {
    name: "SettingsError",
    message: "--json: does not take a value",
  });
});

test("rejects a flag without its value", () => {
  settingsError(["--target"], {}, "--target", "needs a value");
  settingsError(["--queue.prefix", "--target", "x"], {}, "--queue.prefix", "needs a value");
});

test("rejects bad values, naming the flag or variable", () => {
  settingsError(["--writer.concurrency=0"], {}, "--writer.concurrency", 'expected a whole number of at least 1, got "0"');
  settingsError(["--writer.concurrency=1.5"], {}, "--writer.concurrency", 'expected a whole number of at least 1, got "1.5"');
  settingsError([], { RELAY_WRITER_CONCURRENCY: "x" }, "RELAY_WRITER_CONCURRENCY", 'expected a whole number of at least 1, got "x"');
  settingsError(["--writer.claim-delay=6s"], {}, "--writer.claim-delay", "must be at most 5s");
  settingsError(["--writer.nice=20"], {}, "--writer.nice", 'expected idle or a nice value from 0 to 19, got "20"');
  settingsError([], { RELAY_WRITER_NICE: "-5" }, "RELAY_WRITER_NICE", 'expected idle or a nice value from 0 to 19, got "-5"');
  settingsError(["--writer.nice=IDLE"], {}, "--writer.nice", 'expected idle or a nice value from 0 to 19, got "IDLE"');
  settingsError([], { RELAY_WRITER_CLAIM_DELAY: "50" }, "RELAY_WRITER_CLAIM_DELAY", 'invalid duration "50": missing unit (ns, us, ms, s, m, h)');
  settingsError(["--ingest.max-body-size=8mb"], {}, "--ingest.max-body-size", 'invalid size "8mb": unknown unit "mb"; use B, KB, MB, GB, KiB, MiB, GiB');
  settingsError(["--ingest.max-body-size=0"], {}, "--ingest.max-body-size", "the size must be greater than 0");
  settingsError(
    ["--ingest.max-inflight-body-size=-1"],
    {},
    "--ingest.max-inflight-body-size",
    'invalid size "-1": expected a number of bytes, optionally with a unit such as KiB, MiB or GiB',
  );
  settingsError(["--queue.payload-ttl=1d"], {}, "--queue.payload-ttl", 'invalid duration "1d": unknown unit "d"');
  settingsError([], { RELAY_QUEUE_PAYLOAD_TTL: "0s" }, "RELAY_QUEUE_PAYLOAD_TTL", "the duration must be greater than 0");
  settingsError(["--log.level=verbose"], {}, "--log.level", 'expected one of fatal, error, warn, info, debug, trace, got "verbose"');
  settingsError(["--stability.level=beta"], {}, "--stability.level", 'expected one of experimental, public-preview, generally-available, got "beta"');
  settingsError(["--server.http.listen-addr=12345"], {}, "--server.http.listen-addr", 'expected host:port such as 127.0.0.1:12345, got "12345"');
  settingsError(["--server.http.listen-addr=h:99999"], {}, "--server.http.listen-addr", 'expected host:port such as 127.0.0.1:12345, got "h:99999"');
  settingsError(["--storage.path="], {}, "--storage.path", "must not be empty");
  settingsError(["--target="], {}, "--target", "must not be empty");
  settingsError(["--queue.prefix={x}"], {}, "--queue.prefix", "must be non-empty, without spaces or braces");
});

test("rejects a bad Redis URL without echoing it", () => {
  for (const url of ["http://:SECRET@redis", "not a url :SECRET"]) {
    assert.throws(
      () => parseSettings([`--redis.url=${url}`], {}),
      (error: unknown) => {
        assert.ok(error instanceof SettingsError);
        assert.equal(error.message, "--redis.url: expected a redis://, rediss:// or unix:// URL, or a socket path");
        return true;
      },
    );
  }
  settingsError([], { REDIS_URL: "localhost:6379" }, "REDIS_URL", "expected a redis://, rediss:// or unix:// URL, or a socket path");
});

test("accepts Redis over a unix socket, as a URL or a path", () => {
  assert.equal(parseSettings(["--redis.url=unix:///run/redis.sock"], {}).settings.redisUrl, "unix:///run/redis.sock");
  assert.equal(parseSettings([], { REDIS_URL: "/run/redis.sock" }).settings.redisUrl, "/run/redis.sock");
});

test("rejects bad relay-bound settings, naming the flag and never echoing a token", () => {
  settingsError(["--target.backlog-full=block"], {}, "--target.backlog-full", 'expected drop or reject, got "block"');
  settingsError(["--target.max-backlog-profiles=-1"], {}, "--target.max-backlog-profiles", 'expected a whole number (0 for no bound), got "-1"');
  settingsError(["--ingest.flush-max-profiles=0"], {}, "--ingest.flush-max-profiles", 'expected a whole number of at least 1, got "0"');
  settingsError(["--ingest.flush-max-size=0"], {}, "--ingest.flush-max-size", "the size must be greater than 0");
  settingsError(["--queue.failed-max-count=0"], {}, "--queue.failed-max-count", 'expected a whole number of at least 1, got "0"');
  settingsError(["--server.http.admin-token=short-secret"], {}, "--server.http.admin-token", "must be at least 16 printable characters without spaces");
  settingsError([], { RELAY_ADMIN_TOKEN: "has a space in it!!" }, "RELAY_ADMIN_TOKEN", "must be at least 16 printable characters without spaces");
});

test("returns the caller's value flags, the last one winning", () => {
  const parsed = parseSettings(["replay", "--reason", "http 400", "--limit=5", "--limit=7", "relay.alloy"], {}, { valueFlags: ["reason", "limit"] });
  assert.deepEqual(
    parsed.options,
    new Map([
      ["reason", "http 400"],
      ["limit", "7"],
    ]),
  );
  assert.deepEqual(parsed.positionals, ["replay", "relay.alloy"]);
  settingsError(["--reason"], {}, "--reason", "unknown flag");
});

test("reads the cluster settings: seed nodes, queue shards, replicas to wait for", () => {
  const { settings } = parseSettings(
    ["--redis.cluster-nodes", "10.0.0.1:7000, redis-2:7001,[::1]:7002", "--target.queue-shards=4", "--redis.min-replicas=1", "--redis.replica-timeout=250ms"],
    {},
  );
  assert.equal(settings.redisClusterNodes, "10.0.0.1:7000,redis-2:7001,[::1]:7002");
  assert.equal(settings.redisUrl, undefined);
  assert.equal(settings.queueShards, 4);
  assert.equal(settings.redisMinReplicas, 1);
  assert.equal(settings.redisReplicaTimeoutMs, 250);
  const fromEnv = parseSettings([], { RELAY_REDIS_CLUSTER_NODES: "rediss://:pw@a:7000,rediss://:pw@b:7000", RELAY_TARGET_QUEUE_SHARDS: "2" }).settings;
  assert.equal(fromEnv.redisClusterNodes, "rediss://:pw@a:7000,rediss://:pw@b:7000");
  assert.equal(fromEnv.queueShards, 2);
});

test("rejects bad cluster settings, naming the flag and never echoing a password", () => {
  settingsError(["--redis.cluster-nodes=a:7000,b"], {}, "--redis.cluster-nodes", "entry 2 is not HOST:PORT (or a redis:// or rediss:// URL of one)");
  settingsError(["--redis.cluster-nodes=redis://:SECRET@a"], {}, "--redis.cluster-nodes", "entry 1 is not HOST:PORT (or a redis:// or rediss:// URL of one)");
  settingsError([], { RELAY_REDIS_CLUSTER_NODES: "a:70000" }, "RELAY_REDIS_CLUSTER_NODES", "entry 1 is not HOST:PORT (or a redis:// or rediss:// URL of one)");
  settingsError(
    ["--redis.url=redis://r:6379", "--redis.cluster-nodes=a:7000"],
    {},
    "--redis.cluster-nodes (or RELAY_REDIS_CLUSTER_NODES)",
    "give either --redis.url (one Redis) or --redis.cluster-nodes (a cluster), not both",
  );
  settingsError(
    ["--redis.cluster-nodes=a:7000"],
    { REDIS_URL: "redis://r:6379" },
    "--redis.cluster-nodes (or RELAY_REDIS_CLUSTER_NODES)",
    "give either --redis.url (one Redis) or --redis.cluster-nodes (a cluster), not both",
  );
  settingsError(
    ["--redis.min-replicas=1"],
    {},
    "--redis.min-replicas (or RELAY_REDIS_MIN_REPLICAS)",
    "needs --redis.url or --redis.cluster-nodes: the embedded Redis has no replicas, so no profile could be stored",
  );
  assert.equal(parseSettings(["--redis.min-replicas=1"], { REDIS_URL: "redis://r:6379" }).settings.redisMinReplicas, 1);
  settingsError(["--target.queue-shards=0"], {}, "--target.queue-shards", 'expected a whole number of at least 1, got "0"');
  settingsError(["--target.queue-shards=1000"], {}, "--target.queue-shards", "at most 256, got 1000");
  settingsError(["--redis.min-replicas=x"], {}, "--redis.min-replicas", 'expected a whole number (0 for no bound), got "x"');
  settingsError(["--redis.replica-timeout=2s"], {}, "--redis.replica-timeout", "must be shorter than 1.5s, the time a flush may take, got 2s");
  settingsError(
    [],
    { RELAY_REDIS_REPLICA_TIMEOUT: "1500ms" },
    "RELAY_REDIS_REPLICA_TIMEOUT",
    "must be shorter than 1.5s, the time a flush may take, got 1500ms",
  );
  assert.equal(parseSettings(["--redis.replica-timeout=1499ms"], {}).settings.redisReplicaTimeoutMs, 1_499);
});

test("a command accepts the flags the table gives it, and no other", () => {
  const failed = parseSettings(
    ["failed", "c.alloy", "--json", "--target=a", "--redis.url=redis://r:6379", "--queue.prefix=p"],
    {},
    settingsOptionsFor("failed"),
  );
  assert.deepEqual(
    [failed.flags, failed.settings.targets, failed.settings.redisUrl, failed.settings.queuePrefix],
    [new Set(["json"]), ["a"], "redis://r:6379", "p"],
  );
  const replay = parseSettings(["--reason=http 400", "--dry-run", "--queue.payload-ttl=200h"], {}, settingsOptionsFor("replay"));
  assert.deepEqual([replay.options, replay.flags, replay.settings.payloadTtlMs], [new Map([["reason", "http 400"]]), new Set(["dry-run"]), 200 * 3600 * 1000]);
  for (const [command, flag] of [
    ["failed", "--log.level=debug"],
    ["failed", "--dry-run"],
    ["purge", "--since=1h"],
    ["check", "--target=a"],
    ["ingest", "--target=a"],
    ["run", "--json"],
  ] as const) {
    assert.throws(() => parseSettings([flag], {}, settingsOptionsFor(command)), { name: "SettingsError", message: `${flag.replace(/=.*/, "")}: unknown flag` });
  }
});

test("a command reads only the variables of its own settings; the others keep their defaults", () => {
  const { settings } = parseSettings([], { REDIS_URL: "redis://r:6379", RELAY_LOG_LEVEL: "bad", RELAY_WRITER_CONCURRENCY: "9" }, settingsOptionsFor("failed"));
  assert.deepEqual([settings.redisUrl, settings.logLevel, settings.writerConcurrency], ["redis://r:6379", "info", 16]);
  settingsError([], { RELAY_LOG_LEVEL: "bad" }, "RELAY_LOG_LEVEL", 'expected one of fatal, error, warn, info, debug, trace, got "bad"');
});

test("TLS settings of Redis need a rediss:// Redis, a client certificate its key, a server name a host name", () => {
  const parsed = parseSettings(
    [
      "--redis.url=rediss://redis.internal:6380",
      "--redis.tls-ca-file=/etc/ca.pem",
      "--redis.tls-cert-file=/etc/c.pem",
      "--redis.tls-server-name=redis.internal",
    ],
    { RELAY_REDIS_TLS_KEY_FILE: "/etc/c.key" },
  ).settings;
  assert.deepEqual(
    [parsed.redisTlsCaFile, parsed.redisTlsCertFile, parsed.redisTlsKeyFile, parsed.redisTlsServerName],
    ["/etc/ca.pem", "/etc/c.pem", "/etc/c.key", "redis.internal"],
  );
  assert.equal(parseSettings(["--redis.url=REDISS://r:6380", "--redis.tls-ca-file=/ca.pem"], {}).settings.redisTlsCaFile, "/ca.pem");
  // One rediss:// entry makes the whole cluster TLS.
  assert.equal(parseSettings(["--redis.cluster-nodes=a:7000,rediss://b:7001", "--redis.tls-ca-file=/ca.pem"], {}).settings.redisTlsCaFile, "/ca.pem");
  const notTls = "applies to TLS only: give --redis.url or an entry of --redis.cluster-nodes as a rediss:// URL";
  settingsError(["--redis.url=redis://r:6379", "--redis.tls-ca-file=/ca.pem"], {}, "--redis.tls-ca-file (or RELAY_REDIS_TLS_CA_FILE)", notTls);
  settingsError(
    ["--redis.cluster-nodes=a:7000,b:7001"],
    { RELAY_REDIS_TLS_SERVER_NAME: "redis.internal" },
    "--redis.tls-server-name (or RELAY_REDIS_TLS_SERVER_NAME)",
    notTls,
  );
  // Without a Redis, run's embedded one: no TLS there.
  settingsError(["--redis.tls-cert-file=/c.pem", "--redis.tls-key-file=/c.key"], {}, "--redis.tls-cert-file (or RELAY_REDIS_TLS_CERT_FILE)", notTls);
  settingsError(
    ["--redis.url=rediss://r:6380", "--redis.tls-cert-file=/c.pem"],
    {},
    "--redis.tls-cert-file (or RELAY_REDIS_TLS_CERT_FILE)",
    "needs --redis.tls-key-file (or RELAY_REDIS_TLS_KEY_FILE) too: a client certificate goes with its key",
  );
  settingsError(
    ["--redis.url=rediss://r:6380", "--redis.tls-key-file=/c.key"],
    {},
    "--redis.tls-key-file (or RELAY_REDIS_TLS_KEY_FILE)",
    "needs --redis.tls-cert-file (or RELAY_REDIS_TLS_CERT_FILE) too: a client certificate goes with its key",
  );
  settingsError(["--redis.tls-server-name=10.0.0.7"], {}, "--redis.tls-server-name", 'expected a host name, got "10.0.0.7"');
  settingsError(["--redis.tls-server-name=bad name"], {}, "--redis.tls-server-name", 'expected a host name, got "bad name"');
});
