#!/usr/bin/env node
import { ConfigError, loadConfig, parseSettings, SettingsError } from "@pyroscope-relay/config";
import type { RelayConfig } from "@pyroscope-relay/config";
import { createLogger } from "@pyroscope-relay/ops";
import { startRelay } from "./relay-process.js";
import type { RelayRoles } from "./relay-process.js";
import { UsageError } from "./usage-error.js";

const usage = `Usage: pyroscope-relay <command> CONFIG [flags]

Commands:
  run CONFIG      receivers and writers in one process (embedded redis-server without --redis.url)
  ingest CONFIG   the receive_http listeners: store each profile once, enqueue one job per target
  writer CONFIG   deliver queued profiles to the targets (--target NAME, repeatable, to pick some)
  check CONFIG    validate the configuration and list receivers and targets

Flags (environment variable in brackets):
  --redis.url URL                  Redis, e.g. redis://host:6379 or unix:///path/redis.sock [REDIS_URL]
  --server.http.listen-addr ADDR   ops server: /-/ready, /-/healthy, /metrics (127.0.0.1:12345) [RELAY_SERVER_HTTP_LISTEN_ADDR]
  --storage.path DIR               embedded Redis data directory (data) [RELAY_STORAGE_PATH]
  --writer.concurrency N           deliveries in flight per target (4) [RELAY_WRITER_CONCURRENCY]
  --ingest.max-body-size SIZE      largest accepted request body (32MiB) [RELAY_INGEST_MAX_BODY_SIZE]
  --queue.payload-ttl DURATION     how long a stored profile may wait at most (168h) [RELAY_QUEUE_PAYLOAD_TTL]
  --queue.prefix PREFIX            Redis key prefix (pyroscope-relay) [RELAY_QUEUE_PREFIX]
  --target NAME                    writer: serve only this target (repeatable)
  --log.level LEVEL                fatal, error, warn, info, debug, trace (info) [RELAY_LOG_LEVEL]
`;

const roles: Record<string, RelayRoles> = {
  run: { ingest: true, writer: true, embeddedRedis: true },
  ingest: { ingest: true, writer: false, embeddedRedis: false },
  writer: { ingest: false, writer: true, embeddedRedis: false },
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(usage);
    return command === undefined ? 2 : 0;
  }
  const { settings, positionals } = parseSettings(rest, process.env);
  const [configPath, ...extra] = positionals;
  if (configPath === undefined || extra.length > 0) {
    throw new UsageError(`${command}: expects exactly one CONFIG file argument`);
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
