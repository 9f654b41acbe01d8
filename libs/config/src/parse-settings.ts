import type { Environment } from "./evaluate.js";
import { flagsOf, flagTable, settingLabel } from "./flag-table.js";
import type { CommandName, Flag, SettingFlag } from "./flag-table.js";
import { checkRedisTls } from "./redis-tls.js";
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
  /** The relay settings accepted, as flags and as variables; every one when absent. */
  settings?: readonly SettingFlag[];
  /** The caller's boolean flags, without dashes, e.g. `["json", "dry-run"]`. */
  booleanFlags?: readonly string[];
  /** The caller's flags with a value (a command's own options), e.g. `["reason", "limit"]`. */
  valueFlags?: readonly string[];
}

const settingFlags = flagTable.filter(isSetting);

function isSetting(flag: Flag): flag is SettingFlag {
  return flag.kind === "setting";
}

/** What a command accepts, from the flag table: its settings (and their variables), switches and options. */
export function settingsOptionsFor(command: CommandName): SettingsOptions {
  const flags = flagsOf(command);
  return {
    settings: flags.filter(isSetting),
    booleanFlags: flags.filter((flag) => flag.kind === "switch").map((flag) => flag.name),
    valueFlags: flags.filter((flag) => flag.kind === "option").map((flag) => flag.name),
  };
}

/** Every setting at its default: the table's default text, parsed like a user's value. */
function defaults(): RelaySettings {
  // The cast holds as long as every required setting has a default; "defaults every setting" checks that.
  const settings: Pick<RelaySettings, "targets"> = { targets: [] };
  for (const flag of settingFlags) {
    if ("default" in flag) flag.apply(settings as RelaySettings, flag.default);
  }
  return settings as RelaySettings;
}

function apply(settings: RelaySettings, setting: string, flag: SettingFlag, value: string): void {
  try {
    flag.apply(settings, value);
  } catch (error) {
    throw new SettingsError(setting, (error as Error).message, { cause: error });
  }
}

/**
 * Relay settings from command-line flags (`--flag=value` or `--flag value`) and environment
 * variables, with the caller's own flags; a flag wins over its variable, an empty variable counts
 * as unset, a setting that is not accepted keeps its default. Throws a SettingsError naming the
 * flag or variable at fault.
 */
export function parseSettings(argv: readonly string[], env: Environment, options: SettingsOptions = {}): ParsedSettings {
  const accepted = new Map((options.settings ?? settingFlags).map((flag) => [flag.name, flag]));
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
    if (!flag.startsWith("--") || (!isCommandOption && !accepted.has(name))) {
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
  for (const flag of accepted.values()) {
    const fromArgs = given.filter((entry) => entry.name === flag.name);
    const fromEnv = flag.env === undefined ? undefined : env[flag.env];
    if (fromArgs.length === 0 && flag.env !== undefined && fromEnv) apply(settings, flag.env, flag, fromEnv);
    for (const { value } of fromArgs) apply(settings, `--${flag.name}`, flag, value);
  }
  if (settings.redisUrl !== undefined && settings.redisClusterNodes !== undefined) {
    throw new SettingsError(settingLabel("redis.cluster-nodes"), "give either --redis.url (one Redis) or --redis.cluster-nodes (a cluster), not both");
  }
  if (settings.redisMinReplicas > 0 && settings.redisUrl === undefined && settings.redisClusterNodes === undefined) {
    throw new SettingsError(
      settingLabel("redis.min-replicas"),
      "needs --redis.url or --redis.cluster-nodes: the embedded Redis has no replicas, so no profile could be stored",
    );
  }
  checkRedisTls(settings);
  return { settings, positionals, flags, options: commandOptions };
}

function splitFlag(arg: string): [flag: string, value: string | undefined] {
  const equals = arg.indexOf("=");
  return equals === -1 ? [arg, undefined] : [arg.slice(0, equals), arg.slice(equals + 1)];
}
