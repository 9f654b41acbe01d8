import { X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
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

/**
 * The `--redis.tls-*` settings with their files read through `readFile`, or undefined without any.
 * Throws a SettingsError naming the flag for a file that cannot be read or does not load (a key that
 * does not match its certificate included), never quoting what the file holds.
 */
export function readRedisTls(settings: RelaySettings, readFile: FileReader): RedisTls | undefined {
  const tls: RedisTls = {};
  const read = (flag: string, path: string | undefined): string | undefined => {
    if (path === undefined) return undefined;
    let text: string;
    try {
      text = readFile(path);
    } catch (error) {
      throw new SettingsError(`--${flag}`, `cannot read ${JSON.stringify(path)}: ${(error as Error).message}`, { cause: error });
    }
    // Node takes an empty certificate or key for none, and would check nothing.
    if (text.trim() === "") throw new SettingsError(`--${flag}`, `${JSON.stringify(path)} is empty`);
    return text;
  };
  const ca = read("redis.tls-ca-file", settings.redisTlsCaFile);
  const cert = read("redis.tls-cert-file", settings.redisTlsCertFile);
  const key = read("redis.tls-key-file", settings.redisTlsKeyFile);
  if (ca !== undefined) tls.ca = ca;
  if (cert !== undefined) tls.cert = cert;
  if (key !== undefined) tls.key = key;
  if (settings.redisTlsServerName !== undefined) tls.serverName = settings.redisTlsServerName;
  if (Object.keys(tls).length === 0) return undefined;
  // Checked now: at the first connection a bad file would only be retried, forever. Node takes a CA
  // file without any certificate silently, so the first one is parsed.
  if (tls.ca !== undefined) loads("redis.tls-ca-file", settings.redisTlsCaFile, () => new X509Certificate(tls.ca!));
  if (tls.cert !== undefined) loads("redis.tls-cert-file", settings.redisTlsCertFile, () => createSecureContext({ cert: tls.cert, key: tls.key }));
  return tls;
}

function loads(flag: string, path: string | undefined, load: () => unknown): void {
  try {
    load();
  } catch (error) {
    throw new SettingsError(`--${flag}`, `${JSON.stringify(path)} does not load: ${(error as Error).message}`, { cause: error });
  }
}
