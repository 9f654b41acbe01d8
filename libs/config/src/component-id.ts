import type { ComponentKind } from "./component-kinds.js";
import type { Diagnostic } from "./diagnostic.js";

/**
 * Alloy labels are identifiers (letters, decimal digits, underscores; not true, false or null), which
 * also keeps target names (`label/endpoint`) and component IDs (`name.label/name.label`) unambiguous.
 */
export const validLabel = /^(?!(?:true|false|null)$)[\p{L}_][\p{L}\p{Nd}_]*$/u;

/**
 * Alloy's ID of a block (`pyroscope.receive_http.default`, or its name alone when it has no label),
 * after the ID of the custom component instance it runs in, as Alloy names a component in its
 * metrics and logs: `profiles_receiver.feature/pyroscope.receive_http.default`.
 */
export function componentId(instance: string | undefined, name: string, label: string | undefined): string {
  const id = label === undefined ? name : `${name}.${label}`;
  return instance === undefined ? id : `${instance}/${id}`;
}

/**
 * How a message names a component the relay runs by its label: `pyroscope.relabel "default"` at the
 * top level, its component ID in a custom component instance (no label has a `/`).
 */
export function describeComponent(name: ComponentKind, label: string): string {
  return label.includes("/") ? label : `${name} ${JSON.stringify(label)}`;
}

export function describeReceiver(label: string): string {
  return describeComponent("pyroscope.receive_http", label);
}

/** Alloy's ID of a component the relay runs, by its label: `pyroscope.relabel.default`, or its ID in an instance already. */
export function alloyComponentId(name: ComponentKind, label: string): string {
  return label.includes("/") ? label : `${name}.${label}`;
}

/**
 * A diagnostic from a custom component instance: its place is in the declare's body, which every
 * instance shares, so the message names the instance.
 */
export function inInstance(instance: string | undefined, diagnostic: Diagnostic): Diagnostic {
  return instance === undefined ? diagnostic : { ...diagnostic, message: `${diagnostic.message} (in custom component ${instance})` };
}
