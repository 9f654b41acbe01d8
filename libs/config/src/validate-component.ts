import type { z } from "zod";
import { ComponentReference, whyNotEvaluable } from "./component-reference.js";
import { diagnosticAt, type Diagnostic } from "./diagnostic.js";
import { Secret, secretNotString } from "./secret.js";
import type { ValueLocations } from "./value-locations.js";
import { describeValueType } from "./value-type.js";

const expectedNames: Record<string, string> = { boolean: "bool", array: "list", record: "object" };

/** Alloy-style wording for zod's type issues; every other issue carries its own message from the schema. */
function typeMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== "invalid_type") return undefined;
  const name = String(issue.path?.at(-1));
  if (issue.input === undefined) return `missing required attribute ${JSON.stringify(name)}`;
  const got = describeValueType(issue.input);
  if (got === "block") return `${JSON.stringify(name)} must be set as an attribute (${name} = ...), not a block`;
  const expected = `expected ${expectedNames[issue.expected] ?? issue.expected}`;
  if (issue.input instanceof ComponentReference) return `${expected}, got reference ${issue.input}, which ${whyNotEvaluable}`;
  if (issue.input instanceof Secret && issue.expected === "string") return `${expected}, got secret: ${secretNotString}`;
  return `${expected}, got ${got}`;
}

export type Validation<T> = { ok: true; value: T } | { ok: false; diagnostics: Diagnostic[] };

/**
 * Checks a decoded component against its schema and reports each issue where it is in the source:
 * type and value problems at the value, unknown names at the name, missing attributes at their block.
 * Messages name types, never values, so secrets stay out of them.
 */
export function validateComponent<S extends z.ZodType>(schema: S, data: unknown, locations: ValueLocations, file: string): Validation<z.output<S>> {
  const result = schema.safeParse(data, { error: typeMessage });
  if (result.success) return { ok: true, value: result.data };
  const diagnostics = result.error.issues.flatMap((issue): Diagnostic[] => {
    const path = issue.path as (string | number)[];
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => {
        const location = locations.get([...path, key]) ?? locations.nearest(path);
        const kind = location.kind === "block" ? "block" : "attribute";
        return diagnosticAt(file, location.namePos, `unknown ${kind} ${JSON.stringify(key)}`);
      });
    }
    const label = locations.label(path);
    const message = label === "" ? issue.message : `${label}: ${issue.message}`;
    return [diagnosticAt(file, locations.nearest(path).pos, message)];
  });
  return { ok: false, diagnostics };
}
