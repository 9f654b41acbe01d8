import { InvalidLabelError } from "./errors.js";
import { labelNameProblem } from "./label-name.js";
import { appLabel, setLabel, withExternalLabels, withServiceName, type LabelSet } from "./label-set.js";
import { labelLimitProblem } from "./label-limits.js";
import type { DroppedProfile, Relabeling } from "./relabel.js";

/** One `types.v1.LabelPair` of a Push series. */
export interface LabelPair {
  name: string;
  value: string;
}

/** Reserved (`__`) labels that survive forwarding. */
const keptReserved = new Set([appLabel, "__delta__"]);

/**
 * Alloy's check of a Push series, first problem wins (in name order): no labels at all, an empty
 * label name, or one outside `[A-Za-z0-9_.]` (`__name__` exempt). Like Alloy it looks at the
 * series after duplicates collapse (last wins) and empty values drop out, so a bad name with an
 * empty value passes. Values that are not UTF-8 never get here: the protobuf codec refuses them.
 * @throws InvalidLabelError
 */
export function validatePushLabels(labels: readonly LabelPair[]): void {
  check(withServiceName(collapse(labels)));
}

/**
 * The labels Alloy forwards for a Push series: duplicates collapse (last wins), empty values drop,
 * the receive_http service-name rule applies, then the `pyroscope.relabel` components on the way
 * to the target (`relabeling`, which may drop the series: then this says which component did), the
 * result is validated, reserved `__` labels other than `__name__` and `__delta__` are dropped,
 * `externalLabels` override (an empty value deletes), sorted by name. Write's "service_name becomes
 * the app" rule is /ingest only.
 * @throws InvalidLabelError for an invalid series or external label name
 */
export function rewritePushLabels(
  labels: readonly LabelPair[],
  externalLabels: Readonly<Record<string, string>>,
  relabeling?: Relabeling,
): LabelPair[] | DroppedProfile {
  let series = withServiceName(collapse(labels));
  if (relabeling !== undefined) {
    const relabeled = relabeling(series);
    if ("droppedBy" in relabeled) return relabeled;
    series = relabeled.labels;
  }
  check(series);
  for (const name of series.keys()) {
    if (name.startsWith("__") && !keptReserved.has(name)) series.delete(name);
  }
  const forwarded = withExternalLabels(series, externalLabels);
  return [...forwarded.keys()].sort().map((name) => ({ name, value: forwarded.get(name) ?? "" }));
}

function collapse(labels: readonly LabelPair[]): LabelSet {
  const series: LabelSet = new Map();
  for (const { name, value } of labels) setLabel(series, name, value);
  return series;
}

function check(series: ReadonlyMap<string, string>): void {
  // Alloy's wording: an empty set has no service name, the one label Pyroscope insists on.
  if (series.size === 0) throw new InvalidLabelError("service name is required");
  const tooLarge = labelLimitProblem(series);
  if (tooLarge !== undefined) throw new InvalidLabelError(tooLarge);
  for (const name of [...series.keys()].sort()) {
    if (name === appLabel) continue;
    const problem = labelNameProblem(name);
    if (problem !== undefined) throw new InvalidLabelError(problem);
  }
}
