import { InvalidLabelError } from "./errors.js";
import { labelNameProblem } from "./label-name.js";

/** The label holding the app on /ingest and the profile type (`process_cpu`) on Push. */
export const appLabel = "__name__";

/** A label set as Alloy handles it: names to values, the app or profile type under `__name__`. */
export type LabelSet = Map<string, string>;

/** Prometheus' Builder.Set and Pyroscope's LabelSet.Add: an empty value means "no such label". */
export function setLabel(labels: LabelSet, name: string, value: string): void {
  if (value === "") labels.delete(name);
  else labels.set(name, value);
}

/**
 * The service-name rule of Alloy's `pyroscope.receive_http`, for /ingest and Push alike: with no
 * `service_name` label it becomes the `__name__` value, otherwise that value is kept as
 * `app_name`. On /ingest `__name__` is the app; on Push it is the profile type (`process_cpu`),
 * and Alloy really does copy that, so a Push series without `service_name` gets
 * `service_name=process_cpu`. A missing `__name__` sets nothing and clears `app_name`.
 */
export function withServiceName(labels: ReadonlyMap<string, string>): LabelSet {
  const result = new Map(labels);
  const name = labels.get(appLabel) ?? "";
  setLabel(result, labels.has("service_name") ? "app_name" : "service_name", name);
  return result;
}

/**
 * `external_labels` of `pyroscope.write`: they override, an empty value deletes. Their names must
 * be valid label names; Alloy does not check them, but the target would reject every profile.
 */
export function withExternalLabels(labels: ReadonlyMap<string, string>, externalLabels: Readonly<Record<string, string>>): LabelSet {
  const result = new Map(labels);
  for (const [name, value] of Object.entries(externalLabels)) {
    const problem = labelNameProblem(name);
    if (problem !== undefined) throw new InvalidLabelError(`external label: ${problem}`);
    setLabel(result, name, value);
  }
  return result;
}
