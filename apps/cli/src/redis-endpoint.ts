import { readFileSync } from "node:fs";
import { readRedisTls, type RelaySettings } from "@pyroscope-relay/config";
import { redisEndpointOf, type RedisEndpoint } from "@pyroscope-relay/queue";

/**
 * The Redis the settings name, with the files of `--redis.tls-*` read now (a SettingsError names the
 * flag of one that cannot be read or does not load); undefined for the embedded Redis of `run`.
 */
export function configuredEndpoint(settings: RelaySettings): RedisEndpoint | undefined {
  return redisEndpointOf(
    settings,
    readRedisTls(settings, (path) => readFileSync(path, "utf8")),
  );
}
