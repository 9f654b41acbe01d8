import { X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import { settingLabel } from "./flag-table.js";
import type { RelaySettings } from "./relay-settings.js";
import type { FileReader } from "./schema-values.js";
import { SettingsError } from "./settings-error.js";

/** TLS to a `rediss://` Redis beyond the system's authorities: PEM texts, read from the settings' files. */
export interface RedisTls {
  ca?: string;
  cert?: string;
  key?: string;
  /** The name the server's certificate must hold, instead of the host dialed. */
  serverName?: string;
}

/** The files of TLS to Redis: the part of RedisTls each fills, its flag, its setting. */
const tlsFiles = [
  ["ca", "redis.tls-ca-file", "redisTlsCaFile"],
  ["cert", "redis.tls-cert-file", "redisTlsCertFile"],
  ["key", "redis.tls-key-file", "redisTlsKeyFile"],
] as const satisfies readonly (readonly [keyof RedisTls, string, keyof RelaySettings])[];

/**
 * Refuses TLS settings that cannot apply: any of them without a `rediss://` Redis, a client
 * certificate without its key or the other way round. Throws a SettingsError naming the flag and its variable.
 */
export function checkRedisTls(settings: RelaySettings): void {
  const given = [...tlsFiles, ["serverName", "redis.tls-server-name", "redisTlsServerName"] as const].find(([, , setting]) => settings[setting] !== undefined);
  if (given === undefined) return;
  const endpoints = settings.redisClusterNodes?.split(",") ?? (settings.redisUrl === undefined ? [] : [settings.redisUrl]);
  if (!endpoints.some((endpoint) => endpoint.toLowerCase().startsWith("rediss://"))) {
    throw new SettingsError(settingLabel(given[1]), "applies to TLS only: give --redis.url or an entry of --redis.cluster-nodes as a rediss:// URL");
  }
  if ((settings.redisTlsCertFile === undefined) !== (settings.redisTlsKeyFile === undefined)) {
    const [missing, present] = settings.redisTlsCertFile === undefined ? ["cert", "key"] : ["key", "cert"];
    throw new SettingsError(
      settingLabel(`redis.tls-${present}-file`),
      `needs ${settingLabel(`redis.tls-${missing}-file`)} too: a client certificate goes with its key`,
    );
  }
}

/**
 * The `--redis.tls-*` settings with their files read through `readFile`, or undefined without any.
 * Throws a SettingsError naming the flag and its variable for a file that cannot be read, is empty or does not load
 * (a key that does not match its certificate included), never quoting what the file holds.
 */
export function readRedisTls(settings: RelaySettings, readFile: FileReader): RedisTls | undefined {
  const tls: RedisTls = {};
  for (const [part, flag, setting] of tlsFiles) {
    const path = settings[setting];
    if (path !== undefined) tls[part] = read(readFile, flag, path);
  }
  if (settings.redisTlsServerName !== undefined) tls.serverName = settings.redisTlsServerName;
  if (Object.keys(tls).length === 0) return undefined;
  // Checked now: at the first connection a bad file would only be retried, forever. Node takes a CA
  // file without any certificate silently, so the first one is parsed.
  if (tls.ca !== undefined) loads("redis.tls-ca-file", settings.redisTlsCaFile, () => new X509Certificate(tls.ca!));
  if (tls.cert !== undefined) loads("redis.tls-cert-file", settings.redisTlsCertFile, () => createSecureContext({ cert: tls.cert, key: tls.key }));
  return tls;
}

function read(readFile: FileReader, flag: string, path: string): string {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    throw new SettingsError(settingLabel(flag), `cannot read ${JSON.stringify(path)}: ${(error as Error).message}`, { cause: error });
  }
  // Node takes an empty certificate or key for none, and would check nothing.
  if (text.trim() === "") throw new SettingsError(settingLabel(flag), `${JSON.stringify(path)} is empty`);
  return text;
}

function loads(flag: string, path: string | undefined, load: () => unknown): void {
  try {
    load();
  } catch (error) {
    throw new SettingsError(settingLabel(flag), `${JSON.stringify(path)} does not load: ${(error as Error).message}`, { cause: error });
  }
}
