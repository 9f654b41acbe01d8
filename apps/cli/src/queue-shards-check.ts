import type { RelaySettings } from "@pyroscope-relay/config";
import type { Logger } from "@pyroscope-relay/ops";
import { QueueShardsMismatchError, QueueShardsWatch, queueShardsKey, recordQueueShards, type RedisConnection } from "@pyroscope-relay/queue";
import type { ShutdownStack } from "./shutdown-stack.js";

export interface QueueShardsCheckOptions {
  admin: RedisConnection;
  settings: RelaySettings;
  /** Whether the process delivers: one that misses shards then leaves their batches undelivered. */
  writer: boolean;
  logger: Logger;
  stack: ShutdownStack;
}

/**
 * A relay process' `--target.queue-shards` against the deployment's record, before it takes or
 * delivers anything: a writer (or `run`) is refused below it (QueueShardsMismatchError, exit 2), the
 * record raised to it above. Then watches the record: a writer whose count another process raised it
 * above is not ready (`mismatch`) until restarted with the new count, and says so in the log. An
 * ingest-only process stores correctly with a smaller count (its shards are among the deployment's),
 * at start as while it runs: it only warns, so that one still at the old count that restarts while
 * the count is raised keeps taking profiles.
 */
export async function checkQueueShards({ admin, settings, writer, logger, stack }: QueueShardsCheckOptions): Promise<QueueShardsWatch> {
  const { queuePrefix: prefix, queueShards: shards } = settings;
  const key = queueShardsKey(prefix);
  const { before, recorded } = await recordQueueShards(admin, prefix, shards, { raise: true }).catch((error: unknown) => {
    // The watch's first reading warns about it.
    if (writer || !(error instanceof QueueShardsMismatchError)) throw error;
    return { before: error.recorded, recorded: error.recorded };
  });
  if (before !== undefined && recorded !== undefined && before < recorded) {
    logger.info(
      { prefix, key, queueShards: recorded, previousQueueShards: before },
      "raised the deployment's recorded --target.queue-shards: a writer started with the smaller count is refused at start, one running with it is no longer ready; restart each process with this count",
    );
  }
  const watch = new QueueShardsWatch({
    connection: admin,
    prefix,
    shards,
    onMismatch: (mismatch) => {
      const fields = { prefix, key, queueShards: shards, recordedQueueShards: mismatch.recorded, problem: mismatch.message };
      if (writer) {
        logger.error(
          fields,
          `another process raised the deployment's --target.queue-shards to ${mismatch.recorded}: this writer does not deliver the batches of the shards beyond its ${shards} and is not ready; restart it with --target.queue-shards ${mismatch.recorded}`,
        );
      } else {
        logger.warn(
          fields,
          `another process raised the deployment's --target.queue-shards to ${mismatch.recorded}: profiles stored here are still delivered, but this process' backlog bounds, metrics and admin API count only its ${shards} shard(s); restart it with --target.queue-shards ${mismatch.recorded}`,
        );
      }
    },
    onResolved: (now) =>
      logger.info(
        { prefix, key, queueShards: shards, recordedQueueShards: now ?? null },
        "the deployment's recorded --target.queue-shards is within this process' count again",
      ),
    onError: (err) => logger.warn({ err, key }, "could not read the deployment's recorded --target.queue-shards; reading it again in a few seconds"),
  });
  watch.start();
  stack.push(() => watch.stop());
  return watch;
}
