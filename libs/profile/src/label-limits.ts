/**
 * Bounds on one series' labels. Pyroscope's own defaults are per tenant and configurable (30 names,
 * 1024-character names, 2048-character values), so the relay stays well above them: it only
 * refuses what no server would take, at the door, instead of storing it and failing it for good at
 * every target.
 */
export const labelLimits = {
  maxLabels: 128,
  maxNameLength: 1024,
  maxValueLength: 4096,
} as const;

/** What is wrong with a label set's size, or undefined when it is within the limits. */
export function labelLimitProblem(labels: ReadonlyMap<string, string>): string | undefined {
  if (labels.size > labelLimits.maxLabels) {
    return `too many labels: ${labels.size}, at most ${labelLimits.maxLabels}`;
  }
  for (const [name, value] of labels) {
    if (name.length > labelLimits.maxNameLength) {
      return `label name too long: ${name.length} characters, at most ${labelLimits.maxNameLength}`;
    }
    if (value.length > labelLimits.maxValueLength) {
      return `value of label ${JSON.stringify(name.slice(0, 64))} too long: ${value.length} characters, at most ${labelLimits.maxValueLength}`;
    }
  }
  return undefined;
}
