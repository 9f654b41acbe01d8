import { constants as osConstants } from "node:os";
import { ConfigError, KubernetesReadMemory, loadConfig, parseSettings, SettingsError, settingsOptionsFor } from "@pyroscope-relay/config";
import type { CommandName, RelayConfig } from "@pyroscope-relay/config";
import { readKubernetesObject } from "@pyroscope-relay/delivery";
import { createLogger } from "@pyroscope-relay/ops";
import { RedisServerStartStoppedError } from "@pyroscope-relay/redis-server";
import { QueueShardsMismatchError, RedisWaitStoppedError } from "@pyroscope-relay/queue";
import type { CommandContext } from "./commands/command-context.js";
import { commandNamed, findCommand } from "./commands/command-name.js";
import { failedCommand } from "./commands/failed.js";
import { commandHelp, generalHelp, usageHint } from "./commands/help.js";
import { purgeCommand } from "./commands/purge.js";
import { replayCommand } from "./commands/replay.js";
import { relayVersion } from "./commands/version.js";
import { startRelay } from "./relay-process.js";
import type { RelayRoles } from "./relay-process.js";
import { describeIgnored } from "./ignored-components.js";
import { configuredEndpoint } from "./redis-endpoint.js";
import { checkRetentionSettings } from "./retention-settings.js";
import { UsageError } from "./usage-error.js";

/** Commands that do their work and exit. */
const operatorCommands = {
  failed: failedCommand,
  replay: replayCommand,
  purge: purgeCommand,
} satisfies Partial<Record<CommandName, (context: CommandContext) => Promise<number>>>;

/** The relay's processes: what each one runs. */
const roles: Record<Exclude<CommandName, keyof typeof operatorCommands | "check">, RelayRoles> = {
  run: { ingest: true, writer: true, embeddedRedis: true },
  ingest: { ingest: true, writer: false, embeddedRedis: false },
  writer: { ingest: false, writer: true, embeddedRedis: false },
};

function isOperatorCommand(command: CommandName): command is keyof typeof operatorCommands {
  return Object.hasOwn(operatorCommands, command);
}

const helpWords = ["help", "--help", "-h"];

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(generalHelp());
    return 2;
  }
  if (first === "--version") {
    process.stdout.write(`pyroscope-relay ${relayVersion()}\n`);
    return 0;
  }
  if (helpWords.includes(first)) {
    if (rest.length > 1) throw new UsageError("help takes at most one COMMAND");
    process.stdout.write(rest[0] === undefined ? generalHelp() : commandHelp(commandNamed(rest[0])));
    return 0;
  }
  const command = commandNamed(first);
  // Help wins over anything else on the line; after --, everything is an argument.
  const beforeDashes = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest;
  if (beforeDashes.some((arg) => arg === "--help" || arg === "-h")) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  const parsed = parseSettings(rest, process.env, settingsOptionsFor(command));
  const [configPath, ...extra] = parsed.positionals;
  if (configPath === undefined || extra.length > 0) {
    throw new UsageError(`${command}: expects exactly one CONFIG file argument`);
  }
  const { settings } = parsed;
  checkRetentionSettings(settings);
  if (isOperatorCommand(command)) {
    const context = { configPath, settings, flags: parsed.flags, options: parsed.options, stdout: process.stdout, stderr: process.stderr };
    return operatorCommands[command](context);
  }
  // What remote.kubernetes.* components read, through the pod's service account or their client block.
  const objects = new KubernetesReadMemory((request) => readKubernetesObject(request, { env: process.env }));
  if (command === "check") {
    configuredEndpoint(settings);
    const config = await loadConfig(configPath, process.env, undefined, objects.fresh);
    process.stdout.write(describe(configPath, config));
    return 0;
  }
  // A writer serves no receiver: it reads none of their certificates, which need not be where it runs.
  const use = { servesReceivers: roles[command].ingest };
  const config = await loadConfig(configPath, process.env, use, objects.fresh);
  const logger = createLogger({ level: settings.logLevel, name: `pyroscope-relay ${command}` });
  const readAtReload = objects.orLastRead((request, err) =>
    logger.warn(
      { object: `${request.kind} ${request.namespace}/${request.name}`, err },
      "cannot read a Kubernetes object: the configuration takes its data read last",
    ),
  );
  if (config.ignored.length > 0) {
    logger.warn(
      { ignored: config.ignored.map(describeIgnored) },
      "the relay runs only pyroscope.receive_http, pyroscope.relabel, pyroscope.write and the local.file and remote.kubernetes.* components they read: the configuration's other components are ignored",
    );
  }
  for (const warning of config.warnings) logger.warn(warning);
  let fatal: (error: Error) => void = () => undefined;
  // A signal while the relay starts stops the start where it waits for Redis.
  const starting = new AbortController();
  const stop = new Promise<NodeJS.Signals | Error>((resolve) => {
    let signals = 0;
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      // Every time, not once: a repeated signal (npm passes a terminal's Ctrl-C on to its child, which
      // the terminal sent it too) would otherwise kill the process half-way through its shutdown. A
      // third (Ctrl-C pressed again) stops it at once, as the signal would by default.
      process.on(signal, () => {
        signals++;
        if (signals >= 3) {
          logger.warn({ signal }, "stopped at once by a third signal: batches in delivery go back to their queue when their lock expires");
          process.exit(128 + osConstants.signals[signal]);
        }
        if (starting.signal.aborted) return void logger.info({ signal }, "shutting down already: signal ignored (a third one stops the process at once)");
        starting.abort();
        resolve(signal);
      });
    }
    fatal = resolve;
  });
  // As Alloy: SIGHUP reads the configuration again; a bad one keeps the running one. Handled from the
  // start: by default the signal would end a process still starting (waiting for Redis, say).
  let started: Awaited<ReturnType<typeof startRelay>> | undefined;
  process.on("SIGHUP", () => {
    if (started === undefined) return void logger.warn("SIGHUP while starting: the configuration is read as the relay starts, nothing to reload");
    // The relay logs why a reload failed.
    started.reload().catch(() => undefined);
  });
  const relay = await startRelay(config, settings, roles[command], logger, {
    reloadConfig: async () => {
      const next = await loadConfig(configPath, process.env, use, readAtReload);
      for (const warning of next.warnings) logger.warn(warning);
      return next;
    },
    readKubernetesObject: objects.fresh,
    onFatal: fatal,
    signal: starting.signal,
  }).catch((error: unknown) => {
    // Only the stop asked for: any other failure of the start is the process' to report.
    if (!(error instanceof RedisServerStartStoppedError || error instanceof RedisWaitStoppedError)) throw error;
    logger.info({ err: error }, "stopped while starting");
    return undefined;
  });
  if (relay === undefined) return 0;
  started = relay;
  logger.info({ ops: relay.ops.url }, "ready");
  const reason = await stop;
  if (reason instanceof Error) {
    logger.fatal({ err: reason }, "cannot go on: shutting down (exit 1) so that a supervisor restarts the relay");
  } else {
    logger.info({ signal: reason }, "shutting down");
  }
  await relay.shutdown();
  logger.info("stopped");
  return reason instanceof Error ? 1 : 0;
}

function describe(path: string, config: RelayConfig): string {
  const lines = [`${path}: OK`];
  for (const r of config.receivers) {
    lines.push(`receiver ${r.label}: ${r.listenAddress || "*"}:${r.listenPort} -> ${r.targets.join(", ")}`);
  }
  for (const t of config.targets) {
    const relabels = t.relabel.map(({ component }) => component);
    lines.push(`target ${t.name}: ${t.url}${relabels.length === 0 ? "" : ` (relabeled by ${relabels.join(", then ")})`}`);
  }
  for (const file of config.localFiles) {
    lines.push(`local.file ${file.label}: ${file.path}`);
  }
  for (const { id, request } of config.kubernetesObjects) {
    lines.push(`${id}: ${request.kind} ${request.namespace}/${request.name}`);
  }
  for (const component of config.ignored) {
    lines.push(`ignored ${describeIgnored(component)}`);
  }
  for (const warning of config.warnings) {
    lines.push(`warning ${warning}`);
  }
  return `${lines.join("\n")}\n`;
}

/** How long the exit waits for a reader to take what is left of the output. */
const outputDrainMs = 10_000;

/**
 * Exits once stdout and stderr have passed on what was written to them: to a pipe they write
 * asynchronously, and `process.exit` would cut off what the reader has not taken yet. A reader that
 * takes nothing for `outputDrainMs` does not hold the exit.
 */
async function exitWhenWritten(code: number): Promise<never> {
  setTimeout(() => process.exit(code), outputDrainMs).unref();
  await Promise.all([process.stdout, process.stderr].map(written));
  process.exit(code);
}

function written(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    // A reader that went away (EPIPE) takes nothing more: there is nothing to wait for.
    stream.once("error", () => resolve());
    // Called once everything written before it has gone.
    stream.write("", () => resolve());
  });
}

function failure(err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  // A --target.queue-shards below the deployment's recorded count is a mistake on the command line too.
  if (err instanceof UsageError || err instanceof SettingsError || err instanceof QueueShardsMismatchError) {
    process.stderr.write(`pyroscope-relay: ${err.message}\n${usageHint(findCommand(argv[0]), err)}`);
    return 2;
  }
  process.stderr.write(`pyroscope-relay: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}

const argv = process.argv.slice(2);
void main(argv).then(exitWhenWritten, (err: unknown) => exitWhenWritten(failure(err)));
