import { replayRequest } from "@pyroscope-relay/admin";
import { asOfNow, replayFailed } from "@pyroscope-relay/queue";
import { createProgressBar } from "../progress-bar.js";
import type { CommandContext } from "./command-context.js";
import { asOfHint } from "./as-of.js";
import { counted } from "./counted.js";
import { openOperatorSession } from "./operator-session.js";
import { integerFlag, parseRequestFlags } from "./request-flags.js";
import { singleTarget } from "./target-flag.js";

/**
 * `replay CONFIG --target NAME [--reason TEXT [--exact-reason]] [--status CODE] [--since DURATION] [--limit N] [--as-of TIME] [--dry-run]`:
 * matching failed batches go back to waiting with a full retry budget and a fresh payload TTL.
 */
export async function replayCommand(context: CommandContext): Promise<number> {
  const { settings, options } = context;
  const request = parseRequestFlags("replay", replayRequest, {
    target: singleTarget("replay", settings.targets),
    reason: options.get("reason"),
    exactReason: context.flags.has("exact-reason") || undefined,
    status: integerFlag(options.get("status")),
    since: options.get("since"),
    limit: integerFlag(options.get("limit")),
    asOf: options.get("as-of"),
    dryRun: context.flags.has("dry-run"),
  });
  const asOf = asOfNow(request.asOf);
  const session = await openOperatorSession("replay", context.configPath, settings);
  const bar = createProgressBar(context.stderr);
  let result;
  try {
    const [target] = session.targets([request.target]) as [string];
    result = await replayFailed({
      connection: session.connection,
      prefix: settings.queuePrefix,
      target,
      shards: settings.queueShards,
      payloadTtlMs: settings.payloadTtlMs,
      reason: request.reason,
      exactReason: request.exactReason,
      status: request.status,
      sinceMs: request.since,
      limit: request.limit,
      asOfMs: asOf,
      dryRun: request.dryRun,
      onProgress: bar && ((progress) => bar.update(progress)),
    });
  } finally {
    bar?.finish();
    await session.close();
  }
  const replayed = `${counted(result.replayed, "batch", "batches")} (${counted(result.replayedProfiles, "profile")})`;
  const counts = `replayed ${replayed}, skipped ${result.skipped} (payload gone), not matched ${result.notMatched}`;
  context.stdout.write(request.dryRun ? `dry run (nothing changed): ${counts}\n${asOfHint("replay", asOf)}` : `${counts}\n`);
  return 0;
}
