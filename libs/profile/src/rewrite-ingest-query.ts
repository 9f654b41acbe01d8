import { InvalidNameError } from "./errors.js";
import { formatName } from "./format-name.js";
import { appNameProblem } from "./label-name.js";
import { appLabel, setLabel, withExternalLabels, withServiceName } from "./label-set.js";
import { parseName, type ParsedName } from "./parse-name.js";
import { byteString, encodeQuery, firstValue, parseQuery, textOf } from "./query-string.js";
import type { DroppedProfile, Relabeling } from "./relabel.js";

/**
 * The `name` of a raw /ingest query (without `?`), read the way Pyroscope reads it: the first
 * `name` parameter, Go-decoded. A missing or empty one fails like Pyroscope does, with
 * `name: service name is required`. Receivers call this to refuse what no target would take: a
 * non-empty `service_name` becomes the app the target reads (see rewriteIngestQuery), so it must be
 * a valid app name too.
 * @throws InvalidNameError
 */
export function parseIngestName(query: string): ParsedName {
  const parsed = parseName(nameText(firstValue(query, "name")));
  const serviceName = parsed.labels.get("service_name");
  const problem = serviceName ? appNameProblem(serviceName) : undefined;
  if (problem !== undefined) throw new InvalidNameError(`name: service_name: ${problem}`);
  return parsed;
}

/**
 * The query Alloy's `pyroscope.write` sends for an /ingest profile received with `query`:
 * 1. `name` is parsed and the receive_http service-name rule applied (`service_name` defaults to
 *    the app; an explicit one keeps the app as `app_name`);
 * 2. the `pyroscope.relabel` components on the way to the target, if any (`relabeling`), which may
 *    drop the profile: then nothing is sent, and this says which component dropped it;
 * 3. write's rule: a non-empty `service_name` becomes the app;
 * 4. empty values are dropped, then `externalLabels` override (an empty value deletes);
 * 5. `name` is replaced by the normalized `<app>{k=v,...}`, every other parameter kept, and the
 *    whole query re-encoded sorted by key as Go's url.Values.Encode does.
 * `name=test_app&from=1&until=2` -> `from=1&name=test_app%7Bservice_name%3Dtest_app%7D&until=2`.
 * @throws InvalidNameError for a missing or malformed name
 * @throws InvalidLabelError for an external label with an invalid name
 */
export function rewriteIngestQuery(query: string, externalLabels: Readonly<Record<string, string>>, relabeling?: Relabeling): string | DroppedProfile {
  const values = parseQuery(query);
  const { app, labels } = parseName(nameText(values.get("name")?.[0]));
  let received = withServiceName(new Map([[appLabel, app], ...labels]));
  if (relabeling !== undefined) {
    const relabeled = relabeling(received);
    if ("droppedBy" in relabeled) return relabeled;
    received = relabeled.labels;
  }
  const serviceName = received.get("service_name");
  if (serviceName) received.set(appLabel, serviceName);
  const kept = new Map<string, string>();
  for (const [name, value] of received) setLabel(kept, name, value);
  const forwarded = withExternalLabels(kept, externalLabels);
  const forwardedApp = forwarded.get(appLabel) ?? "";
  forwarded.delete(appLabel);
  values.set("name", [byteString(formatName(forwardedApp, forwarded))]);
  return encodeQuery(values);
}

/** The first `name`, its bytes read as UTF-8 as Go does; none reads as empty, which parseName refuses. */
function nameText(first: string | undefined): string {
  return first === undefined ? "" : textOf(first);
}
