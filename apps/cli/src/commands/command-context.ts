import type { RelaySettings } from "@pyroscope-relay/config";

/** What an operator command gets from the command line, and where it writes. */
export interface CommandContext {
  configPath: string;
  settings: RelaySettings;
  /** The command's boolean flags that were given, without dashes. */
  flags: ReadonlySet<string>;
  /** The command's own value flags, without dashes. */
  options: ReadonlyMap<string, string>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}
