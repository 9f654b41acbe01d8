import type { IgnoredComponent } from "@pyroscope-relay/config";

/** `discovery.kubernetes "pods" (relay.alloy:5:1)`: how `check` and the start-up warning name a component the relay skips. */
export function describeIgnored(component: IgnoredComponent): string {
  const label = component.label === undefined ? "" : ` ${JSON.stringify(component.label)}`;
  return `${component.name}${label} (${component.file}:${component.line}:${component.col})`;
}
