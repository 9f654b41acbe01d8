import { commandNames, flagsOf, flagSynopsis, flagTable, SettingsError } from "@pyroscope-relay/config";
import type { CommandName, Flag } from "@pyroscope-relay/config";

const program = "pyroscope-relay";
/** Help wraps descriptions to this many columns. */
const columns = 100;

const operatorNotes =
  "It needs --redis.url or --redis.cluster-nodes (for run's embedded Redis: unix://<storage.path>/redis.sock), and the relay's --target.queue-shards.";

/** What help says of a command (each takes CONFIG): what it does, what else it needs, and more to know. */
const commandUsage: Record<CommandName, { summary: string; requires?: string; notes?: string }> = {
  run: {
    summary: "receivers and writers in one process (embedded Redis without --redis.url)",
    notes: "Without --redis.url or --redis.cluster-nodes it starts redis-server (AOF, noeviction) in --storage.path.",
  },
  ingest: { summary: "only the receive_http listeners" },
  writer: { summary: "only the writers; --target NAME (repeatable) picks some targets" },
  check: {
    summary: "validate the configuration, exit 1 with file:line:col errors",
    notes: "It takes the flags of run and ingest (not writer's --target) and validates them too, without connecting to anything.",
  },
  failed: { summary: "failed batches and profiles per target by reason (--target NAME, --json)", notes: operatorNotes },
  replay: { summary: "move a target's failed batches back to waiting, with a full retry budget", requires: "--target NAME", notes: operatorNotes },
  purge: { summary: "delete a target's failed batches and their stored profiles", requires: "--target NAME", notes: operatorNotes },
};

/** The commands, one a line, each line starting with `prefix`: help's list, and the README's. */
export function commandList(prefix: string): string {
  const width = Math.max(...commandNames.map((command) => `${command} CONFIG`.length));
  return commandNames.map((command) => `${prefix}${`${command} CONFIG`.padEnd(width)}  ${commandUsage[command].summary}\n`).join("");
}

/** `pyroscope-relay help`: the commands and every flag. */
export function generalHelp(): string {
  return [
    `Usage: ${program} COMMAND CONFIG [flags]`,
    `       ${program} COMMAND --help   the flags of a command (or: ${program} help COMMAND)`,
    `       ${program} --version`,
    "",
    "Commands:",
    commandList("  "),
    "Flags (each command takes some, listed by its --help; environment variables in brackets):",
    formatFlags(flagTable),
  ].join("\n");
}

/** `pyroscope-relay COMMAND --help`: what the command does and only the flags it takes. */
export function commandHelp(command: CommandName): string {
  const { summary, requires, notes } = commandUsage[command];
  const about = `${summary.charAt(0).toUpperCase()}${summary.slice(1)}.`;
  return [
    `Usage: ${[program, command, "CONFIG", requires, "[flags]"].filter((word) => word !== undefined).join(" ")}`,
    "",
    ...wrap(notes === undefined ? about : `${about} ${notes}`, columns),
    "",
    "Flags (environment variables in brackets; a flag wins over its variable):",
    formatFlags(flagsOf(command)),
  ].join("\n");
}

/** What to run for help after a usage error: the command's own help, and where a flag of other commands belongs. */
export function usageHint(command: CommandName | undefined, error: unknown): string {
  if (command === undefined) return `Run '${program} help' for the commands.\n`;
  const flag = error instanceof SettingsError ? flagTable.find((candidate) => `--${candidate.name}` === error.setting) : undefined;
  const elsewhere = flag !== undefined && !flag.commands.includes(command) ? `--${flag.name} is a flag of ${flag.commands.join(", ")}. ` : "";
  return `${elsewhere}Run '${program} ${command} --help' for its flags.\n`;
}

function formatFlags(flags: readonly Flag[]): string {
  const width = Math.max(...flags.map((flag) => flagSynopsis(flag).length));
  const indent = 2 + width + 2;
  return flags
    .map((flag) => {
      const [first = "", ...more] = wrap(describe(flag), columns - indent);
      return `${[`  ${flagSynopsis(flag).padEnd(width)}  ${first}`, ...more.map((line) => " ".repeat(indent) + line)].join("\n")}\n`;
    })
    .join("");
}

/** The description without markdown backticks, then the default and the variable. */
function describe(flag: Flag): string {
  const shownDefault = flag.kind === "switch" ? undefined : "default" in flag ? flag.default : flag.unset;
  const env = flag.kind === "setting" ? flag.env : undefined;
  return [flag.description.replaceAll("`", ""), shownDefault === undefined ? "" : ` (default: ${shownDefault})`, env === undefined ? "" : ` [${env}]`].join("");
}

/** Words in lines of at most `width` characters (a longer word gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  return [...lines, line];
}
