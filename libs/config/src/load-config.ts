import { readFileSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "./config-error.js";
import type { Environment } from "./evaluate.js";
import { parseConfigFiles, targetNamesOf, type ConfigSource, type ConfigUse } from "./parse-config.js";
import type { RelayConfig } from "./relay-config.js";

/** Runs one file system call, turning its failure into a ConfigError that names `file`. */
async function attempt<T>(file: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const message = `cannot read configuration: ${(error as Error).message}`;
    throw new ConfigError([{ file, line: 0, col: 0, message }], { cause: error });
  }
}

async function readSource(file: string): Promise<ConfigSource> {
  return { file, source: await attempt(file, () => readFile(file, "utf8")) };
}

/** As Alloy reads a directory: every `*.alloy` file directly in it (not in subdirectories), by name. */
async function directorySources(directory: string): Promise<ConfigSource[]> {
  const entries = await attempt(directory, () => readdir(directory));
  const files: string[] = [];
  for (const name of entries.filter((entry) => entry.endsWith(".alloy")).sort()) {
    const file = join(directory, name);
    // A symbolic link counts as what it points to; a directory named *.alloy is skipped, as in Alloy.
    if ((await attempt(file, () => stat(file))).isFile()) files.push(file);
  }
  if (files.length === 0) {
    throw new ConfigError([{ file: directory, line: 0, col: 0, message: "no *.alloy file in this directory" }]);
  }
  return Promise.all(files.map(readSource));
}

/**
 * Reads and parses the configuration at `path`: one file, or a directory whose `*.alloy` files form
 * one configuration. Files named by `*_file` attributes are read once, now, relative to the working
 * directory as in Alloy; for a process that serves no receiver (see `ConfigUse`), not those of the
 * receivers' tls blocks.
 */
export async function loadConfig(path: string, env: Environment = process.env, use?: ConfigUse): Promise<RelayConfig> {
  return parseConfigFiles(path, await sourcesAt(path), env, (file) => readFileSync(file, "utf8"), use);
}

/** The target names of the configuration at `path` (see `targetNamesOf`): no file it names is read. */
export async function loadTargetNames(path: string, env: Environment = process.env): Promise<string[]> {
  return targetNamesOf(await sourcesAt(path), env);
}

async function sourcesAt(path: string): Promise<ConfigSource[]> {
  const isDirectory = (await attempt(path, () => stat(path))).isDirectory();
  return isDirectory ? directorySources(path) : [await readSource(path)];
}
