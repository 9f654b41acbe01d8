import { ComponentReference } from "./component-reference.js";
import { Secret } from "./secret.js";

/** Marks decoded block bodies, so that a block given where a value belongs is named as such. */
export const blockBody: unique symbol = Symbol("block body");

/** Alloy's name for the type of an evaluated value, for "expected X, got Y" messages (never the value). */
export function describeValueType(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "string" || typeof value === "number") return typeof value;
  if (Array.isArray(value)) return value.length > 0 && value.every((item) => item?.[blockBody]) ? "block" : "list";
  if ((value as { [blockBody]?: true })[blockBody]) return "block";
  if (value instanceof ComponentReference) return "reference";
  if (value instanceof Secret) return "secret";
  return "object";
}

/** An object value (what `{ ... }` and `encoding.from_json` produce), as opposed to a block, list or reference. */
export function isObjectValue(value: unknown): value is Record<string, unknown> {
  return describeValueType(value) === "object";
}
