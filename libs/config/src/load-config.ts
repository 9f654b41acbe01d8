import { readFileSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "./config-error.js";
import type { Environment } from "./evaluate.js";
import { type KubernetesObjectRead, KubernetesReads } from "./kubernetes-reads.js";
import { parseConfigFiles, targetNamesOf, type ConfigSource, type ConfigUse } from "./parse-config.js";
import type { KubernetesObjectRequest, RelayConfig } from "./relay-config.js";

/** Reads a Kubernetes object's data (a Secret's values decoded); rejects with an error that names the object. */
export type KubernetesObjectReader = (request: KubernetesObjectRequest) => Promise<Record<string, string>>;

/**
 * Rounds of reads a configuration may take: an object's arguments may read another object's data,
 * which is read in the round after (chains longer than this are taken for a mistake).
 */
const MAX_READ_ROUNDS = 8;

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
 * receivers' tls blocks. The Kubernetes objects of the remote.kubernetes.* components the relay's
 * components read are read with `readObject`: the configuration is evaluated, the objects it asked
 * for are read, and it is evaluated again with them, until it asks for none it does not have.
 */
export async function loadConfig(path: string, env: Environment = process.env, use?: ConfigUse, readObject?: KubernetesObjectReader): Promise<RelayConfig> {
  const sources = await sourcesAt(path);
  const reads = new KubernetesReads();
  for (let round = 1; ; round++) {
    try {
      return parseConfigFiles(path, sources, env, (file) => readFileSync(file, "utf8"), use, reads);
    } catch (error) {
      const missing = reads.takeMissing();
      if (missing.length === 0 || round >= MAX_READ_ROUNDS) throw error;
      await Promise.all(missing.map(async (request) => reads.record(request, await readOf(request, readObject))));
    }
  }
}

async function readOf(request: KubernetesObjectRequest, readObject: KubernetesObjectReader | undefined): Promise<KubernetesObjectRead> {
  if (readObject === undefined) return { error: "this command does not read Kubernetes objects" };
  try {
    return { data: await readObject(request) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** The target names of the configuration at `path` (see `targetNamesOf`): no file it names is read. */
export async function loadTargetNames(path: string, env: Environment = process.env): Promise<string[]> {
  return targetNamesOf(await sourcesAt(path), env);
}

async function sourcesAt(path: string): Promise<ConfigSource[]> {
  const isDirectory = (await attempt(path, () => stat(path))).isDirectory();
  return isDirectory ? directorySources(path) : [await readSource(path)];
}
