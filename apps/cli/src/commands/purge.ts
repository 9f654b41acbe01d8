import { purgeRequest } from "@pyroscope-relay/admin";
import { asOfNow, purgeFailed } from "@pyroscope-relay/queue";
import type { CommandContext } from "./command-context.js";
import { asOfHint } from "./as-of.js";
import { counted } from "./counted.js";
import { openOperatorSession } from "./operator-session.js";
import { integerFlag, parseRequestFlags } from "./request-flags.js";
import { singleTarget } from "./target-flag.js";

/**
 * `purge CONFIG --target NAME [--reason TEXT [--exact-reason]] [--status CODE] [--older-than DURATION] [--as-of TIME] [--dry-run]`:
 * deletes the matching failed batches and the profiles nothing else holds.
 */
export async function purgeCommand(context: CommandContext): Promise<number> {
  const { settings } = context;
  const request = parseRequestFlags("purge", purgeRequest, {
    target: singleTarget("purge", settings.targets),
    olderThan: context.options.get("older-than"),
    reason: context.options.get("reason"),
    exactReason: context.flags.has("exact-reason") || undefined,
    status: integerFlag(context.options.get("status")),
    asOf: context.options.get("as-of"),
    dryRun: context.flags.has("dry-run"),
  });
  const asOf = asOfNow(request.asOf);
  const session = await openOperatorSession("purge", context.configPath, settings);
  try {
    // A target removed from the configuration can still be purged: its queue stays in Redis until then.
    const [target] = (await session.targetsOrRemoved([request.target])) as [string];
    const result = await purgeFailed({
      connection: session.connection,
      prefix: settings.queuePrefix,
      target,
      shards: settings.queueShards,
      olderThanMs: request.olderThan,
      reason: request.reason,
      exactReason: request.exactReason,
      status: request.status,
      asOfMs: asOf,
      dryRun: request.dryRun,
    });
    const purged = `${counted(result.purged, "failed batch", "failed batches")} (${counted(result.purgedProfiles, "profile")})`;
    context.stdout.write(
      request.dryRun
        ? `dry run (nothing changed): would purge ${purged} of ${target}\n${asOfHint("purge", asOf)}`
        : `purged ${purged} of ${target}; deleted ${counted(result.payloadsDeleted, "stored profile")} no other job held\n`,
    );
    return 0;
  } finally {
    await session.close();
  }
}
