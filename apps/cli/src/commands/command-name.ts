import { commandNames } from "@pyroscope-relay/config";
import type { CommandName } from "@pyroscope-relay/config";
import { UsageError } from "../usage-error.js";

/** The command `text` names, if it names one. */
export function findCommand(text: string | undefined): CommandName | undefined {
  return commandNames.find((command) => command === text);
}

/** The command `text` names; a UsageError otherwise. */
export function commandNamed(text: string): CommandName {
  const command = findCommand(text);
  if (command === undefined)
    throw new UsageError(text.startsWith("-") ? `${text}: unknown flag (the command comes first)` : `unknown command ${JSON.stringify(text)}`);
  return command;
}
