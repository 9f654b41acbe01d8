import { summarizeAskedTargets } from "@pyroscope-relay/queue";
import type { FailedSummary, RemovedTargetSummary } from "@pyroscope-relay/queue";
import type { CommandContext } from "./command-context.js";
import { counted } from "./counted.js";
import { openOperatorSession } from "./operator-session.js";

/**
 * `failed CONFIG [--target NAME]... [--json]`: failed batches and their profiles per target, counted by
 * reason; without `--target`, also the targets no longer in the configuration whose queues remain.
 */
export async function failedCommand(context: CommandContext): Promise<number> {
  const session = await openOperatorSession("failed", context.configPath, context.settings);
  try {
    const { queuePrefix, queueShards, targets: asked } = context.settings;
    await session.targetsOrRemoved(asked);
    const summaries = await summarizeAskedTargets(session.connection, queuePrefix, session.targets([]), asked, queueShards);
    context.stdout.write(context.flags.has("json") ? `${JSON.stringify({ targets: summaries }, null, 2)}\n` : formatFailed(summaries));
    return 0;
  } finally {
    await session.close();
  }
}

/** A small table per target: reason, batches, profiles, oldest and newest failure (UTC). */
export function formatFailed(summaries: readonly (FailedSummary | RemovedTargetSummary)[]): string {
  const blocks = summaries.map((summary) => {
    const removed = "removed" in summary ? ` (removed from the configuration; its queue still holds ${counted(summary.waiting, "profile")})` : "";
    if (summary.batches === 0) return `${summary.target}${removed}: no failed batches\n`;
    const rows = [
      ["REASON", "BATCHES", "PROFILES", "OLDEST", "NEWEST"],
      ...summary.reasons.map((group) => [group.reason, String(group.batches), String(group.profiles), formatTime(group.oldestAt), formatTime(group.newestAt)]),
    ];
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
    const numeric = (column: number) => column === 1 || column === 2;
    const lines = rows.map((row) =>
      row
        .map((cell, column) => (numeric(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
        .join("  ")
        .trimEnd(),
    );
    const heading = `${counted(summary.profiles, "profile")} in ${counted(summary.batches, "failed batch", "failed batches")}`;
    return `${summary.target}${removed}: ${heading}\n${lines.map((line) => `  ${line}\n`).join("")}`;
  });
  return blocks.join("\n");
}

function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
