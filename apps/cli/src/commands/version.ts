import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The repository's package.json, the one the relay's version is kept in (as many levels up from src/ as from dist/). */
const rootPackage = new URL("../../../../package.json", import.meta.url);

/** `pyroscope-relay --version`: the version of the repository's package.json. */
export function relayVersion(packageJson: URL = rootPackage): string {
  const { version } = JSON.parse(readFileSync(packageJson, "utf8")) as { version?: unknown };
  if (typeof version !== "string") throw new Error(`${fileURLToPath(packageJson)} has no version`);
  return version;
}
