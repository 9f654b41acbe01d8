import { UsageError } from "../usage-error.js";

/** replay and purge work on one target at a time: `--target` given once. */
export function singleTarget(command: string, targets: readonly string[]): string | undefined {
  if (targets.length > 1) throw new UsageError(`${command}: give --target once (got ${targets.join(", ")})`);
  return targets[0];
}
