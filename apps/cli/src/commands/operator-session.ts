import { loadTargetNames } from "@pyroscope-relay/config";
import type { RelaySettings } from "@pyroscope-relay/config";
import { createRedisConnection, describeEndpoint, recordQueueShards, RedisClusterNodeError, removedTargets, waitForRedis } from "@pyroscope-relay/queue";
import type { RedisConnection } from "@pyroscope-relay/queue";
import { configuredEndpoint } from "../redis-endpoint.js";
import { UsageError } from "../usage-error.js";

const connectTimeoutMs = 5_000;

/** Redis did not answer: the message names the URL, password redacted. */
export class RedisUnreachableError extends Error {
  override readonly name = "RedisUnreachableError";
}

export interface OperatorSession {
  connection: RedisConnection;
  /** `names` checked against the configuration; all targets when empty. */
  targets(names: readonly string[]): string[];
  /** As `targets`, a target a reload removed whose queue is still in Redis accepted too. */
  targetsOrRemoved(names: readonly string[]): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * The configuration's targets and an `admin` connection to the Redis the relay uses, for `failed`,
 * `replay` and `purge`: they need the targets' names only, so none of the writers' secrets or target
 * certificates are read (only the `--redis.tls-*` files, if given), and the commands run where those
 * are not.
 */
export async function openOperatorSession(command: string, configPath: string, settings: RelaySettings): Promise<OperatorSession> {
  const known = await loadTargetNames(configPath, process.env);
  const endpoint = configuredEndpoint(settings);
  if (endpoint === undefined) {
    throw new UsageError(
      `${command}: --redis.url (or REDIS_URL) or --redis.cluster-nodes is required; for the embedded Redis of run, use unix://<storage.path>/redis.sock`,
    );
  }
  const connection = createRedisConnection(endpoint, "admin", `pyroscope-relay:${command}`);
  // Failures reach the caller through the commands; ioredis would also print them.
  connection.on("error", () => undefined);
  try {
    await waitForRedis(connection, connectTimeoutMs);
  } catch (cause) {
    connection.disconnect();
    if (cause instanceof RedisClusterNodeError) throw cause;
    const reason = cause instanceof Error && cause.cause instanceof Error ? `: ${cause.cause.message}` : "";
    throw new RedisUnreachableError(`cannot reach Redis at ${describeEndpoint(endpoint)} within ${connectTimeoutMs / 1000} s${reason}`, { cause });
  }
  // A count below the deployment's would see part of each target's failed batches only: refused
  // (exit 2, as a usage error). A larger one reads shards beyond the deployment's too; the record stays.
  try {
    await recordQueueShards(connection, settings.queuePrefix, settings.queueShards, { raise: false });
  } catch (error) {
    connection.disconnect();
    throw error;
  }
  const targets = (names: readonly string[], removed: readonly string[] = []) => {
    const unknown = names.filter((name) => !known.includes(name) && !removed.includes(name));
    if (unknown.length > 0) {
      throw new UsageError(`--target ${unknown.join(", ")}: no such target in the configuration (targets: ${known.join(", ")})`);
    }
    return names.length === 0 ? known : [...names];
  };
  return {
    connection,
    targets: (names) => targets(names),
    targetsOrRemoved: async (names) => targets(names, await removedTargets(connection, settings.queuePrefix, known, names)),
    close: async () => {
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
