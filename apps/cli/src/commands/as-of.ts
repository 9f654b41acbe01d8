/**
 * A dry run's second line: the flag that makes the same command act on the batches it counted
 * alone, whatever fails between the two runs.
 */
export function asOfHint(command: "replay" | "purge", asOf: number): string {
  return `to ${command} these batches alone, add --as-of ${new Date(asOf).toISOString()}\n`;
}
