#!/usr/bin/env node
import { ConfigError, loadConfig, parseSettings, SettingsError } from "@pyroscope-relay/config";
import type { RelayConfig, SettingsOptions } from "@pyroscope-relay/config";
import { createLogger } from "@pyroscope-relay/ops";
import type { CommandContext } from "./commands/command-context.js";
import { failedCommand } from "./commands/failed.js";
import { purgeCommand } from "./commands/purge.js";
import { replayCommand } from "./commands/replay.js";
import { startRelay } from "./relay-process.js";
import type { RelayRoles } from "./relay-process.js";
import { checkRetentionSettings } from "./retention-settings.js";
import { UsageError } from "./usage-error.js";

const usage = `Usage: pyroscope-relay <command> CONFIG [flags]

Commands:
  run CONFIG      receivers and writers in one process (embedded redis-server without --redis.url)
  ingest CONFIG   the receive_http listeners: store each profile once, one batch job per target and flush
  writer CONFIG   deliver queued profiles to the targets (--target NAME, repeatable, to pick some)
  check CONFIG    validate the configuration and list receivers and targets
  failed CONFIG   failed batches and profiles per target, counted by reason (--target NAME to pick, --json for scripts)
  replay CONFIG --target NAME [--reason TEXT] [--status CODE] [--since DURATION] [--limit N] [--dry-run]
                  move matching failed batches back to waiting with a full retry budget, oldest first
  purge CONFIG --target NAME [--older-than DURATION]
                  delete failed batches and the stored profiles no other job still holds
  failed, replay and purge need --redis.url or --redis.cluster-nodes (the embedded Redis of run: unix://<storage.path>/redis.sock).

Flags (environment variable in brackets):
  --redis.url URL                  Redis, e.g. redis://host:6379 or unix:///path/redis.sock [REDIS_URL]
  --redis.cluster-nodes NODES      a Redis Cluster instead: HOST:PORT[,HOST:PORT...] (entries may be redis:// URLs) [RELAY_REDIS_CLUSTER_NODES]
  --redis.min-replicas N           answer 200 only once N replicas hold the flush (Redis WAIT), else 503 (0) [RELAY_REDIS_MIN_REPLICAS]
  --redis.replica-timeout DURATION how long a flush waits for those replicas (1s) [RELAY_REDIS_REPLICA_TIMEOUT]
  --server.http.listen-addr ADDR   ops server: /-/ready, /-/healthy, /metrics, /api/v1 (127.0.0.1:12345) [RELAY_SERVER_HTTP_LISTEN_ADDR]
  --server.http.admin-token TOKEN  bearer token of the admin API; without one it answers only on loopback [RELAY_ADMIN_TOKEN]
  --storage.path DIR               embedded Redis data directory (data) [RELAY_STORAGE_PATH]
  --writer.concurrency N           deliveries in flight per target (4) [RELAY_WRITER_CONCURRENCY]
  --ingest.max-body-size SIZE      largest accepted request body (32MiB) [RELAY_INGEST_MAX_BODY_SIZE]
  --ingest.flush-max-profiles N    profiles one write to Redis carries at most (500) [RELAY_INGEST_FLUSH_MAX_PROFILES]
  --ingest.flush-max-size SIZE     payload bytes one write to Redis carries at most (8MiB) [RELAY_INGEST_FLUSH_MAX_SIZE]
  --queue.payload-ttl DURATION     how long a stored profile may wait at most; >= failed-max-age (168h) [RELAY_QUEUE_PAYLOAD_TTL]
  --queue.prefix PREFIX            Redis key prefix (pyroscope-relay) [RELAY_QUEUE_PREFIX]
  --queue.failed-max-age DURATION  failed batches older than this are deleted (168h) [RELAY_QUEUE_FAILED_MAX_AGE]
  --queue.failed-max-count N       failed batches kept per target, the newest (10000) [RELAY_QUEUE_FAILED_MAX_COUNT]
  --target.max-backlog-profiles N  profiles waiting per target before it is full; 0 = no bound (100000) [RELAY_TARGET_MAX_BACKLOG_PROFILES]
  --target.max-backlog-size SIZE   payload bytes waiting per target; 0 = no bound (1GiB) [RELAY_TARGET_MAX_BACKLOG_SIZE]
  --target.backlog-full POLICY     a full target: drop the profile for it, or reject the request with 429 (drop) [RELAY_TARGET_BACKLOG_FULL]
  --target.max-age DURATION        profiles queued longer fail as expired; 0 = never (1h) [RELAY_TARGET_MAX_AGE]
  --target.queue-shards N          queues per target, on different cluster slots; the same in every process (1) [RELAY_TARGET_QUEUE_SHARDS]
  --target NAME                    writer: serve only this target (repeatable); failed, replay, purge: the target
  --log.level LEVEL                fatal, error, warn, info, debug, trace (info) [RELAY_LOG_LEVEL]
`;

const roles: Record<string, RelayRoles> = {
  run: { ingest: true, writer: true, embeddedRedis: true },
  ingest: { ingest: true, writer: false, embeddedRedis: false },
  writer: { ingest: false, writer: true, embeddedRedis: false },
};

/** Commands that do their work and exit, with the flags of their own. */
const operatorCommands: Record<string, { run: (context: CommandContext) => Promise<number>; flags: SettingsOptions }> = {
  failed: { run: failedCommand, flags: { booleanFlags: ["json"] } },
  replay: { run: replayCommand, flags: { booleanFlags: ["dry-run"], valueFlags: ["reason", "status", "since", "limit"] } },
  purge: { run: purgeCommand, flags: { valueFlags: ["older-than"] } },
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(usage);
    return command === undefined ? 2 : 0;
  }
  const operator = Object.hasOwn(operatorCommands, command) ? operatorCommands[command] : undefined;
  const { settings, positionals, flags, options } = parseSettings(rest, process.env, operator?.flags);
  const [configPath, ...extra] = positionals;
  if (configPath === undefined || extra.length > 0) {
    throw new UsageError(`${command}: expects exactly one CONFIG file argument`);
  }
  checkRetentionSettings(settings);
  if (operator !== undefined) {
    return operator.run({ configPath, settings, flags, options, stdout: process.stdout, stderr: process.stderr });
  }
  if (command === "check") {
    const config = await loadConfig(configPath, process.env);
    process.stdout.write(describe(configPath, config));
    return 0;
  }
  const commandRoles = roles[command];
  if (commandRoles === undefined) {
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
  const config = await loadConfig(configPath, process.env);
  const logger = createLogger({ level: settings.logLevel, name: `pyroscope-relay ${command}` });
  const relay = await startRelay(config, settings, commandRoles, logger);
  logger.info({ ops: relay.ops.url }, "ready");
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  logger.info({ signal }, "shutting down");
  await relay.shutdown();
  logger.info("stopped");
  return 0;
}

function describe(path: string, config: RelayConfig): string {
  const lines = [`${path}: OK`];
  for (const r of config.receivers) {
    lines.push(`receiver ${r.label}: ${r.listenAddress || "*"}:${r.listenPort} -> ${r.targets.join(", ")}`);
  }
  for (const t of config.targets) {
    lines.push(`target ${t.name}: ${t.url}`);
  }
  return lines.join("\n") + "\n";
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + "\n");
      process.exit(1);
    }
    if (err instanceof UsageError || err instanceof SettingsError) {
      process.stderr.write(`pyroscope-relay: ${err.message}\nRun 'pyroscope-relay help' for usage.\n`);
      process.exit(2);
    }
    process.stderr.write(`pyroscope-relay: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
