/**
 * The normalized form Pyroscope and Alloy write: `<app>{k1=v1,k2=v2}`, keys sorted, nothing
 * escaped. Empty labels still get braces (`my-app{}`), as Pyroscope's Normalized() does; Alloy's
 * `test_app{service_name=test_app}` comes from the service-name rule, not from formatting.
 */
export function formatName(app: string, labels: ReadonlyMap<string, string>): string {
  const pairs = [...labels.keys()].sort().map((key) => `${key}=${labels.get(key)}`);
  return `${app}{${pairs.join(",")}}`;
}
