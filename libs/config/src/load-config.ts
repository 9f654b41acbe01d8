import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { ConfigError } from "./config-error.js";
import type { Environment } from "./evaluate.js";
import { parseConfig } from "./parse-config.js";
import type { RelayConfig } from "./relay-config.js";

/**
 * Reads and parses the configuration file at `path`. Files named by `*_file` attributes are read
 * once, now, relative to the working directory as in Alloy.
 */
export async function loadConfig(path: string, env: Environment = process.env): Promise<RelayConfig> {
  let source: string;
  try {
    source = await readFile(path, "utf8");
  } catch (error) {
    const message = `cannot read configuration: ${(error as Error).message}`;
    throw new ConfigError([{ file: path, line: 0, col: 0, message }], { cause: error });
  }
  return parseConfig(source, path, env, (file) => readFileSync(file, "utf8"));
}
