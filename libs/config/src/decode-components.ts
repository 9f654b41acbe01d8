import type { AlloyFile } from "./ast.js";
import { decodeBody } from "./decode-body.js";
import { diagnosticAt, type Diagnostic, type Position } from "./diagnostic.js";
import type { Environment } from "./evaluate.js";
import { ValueLocations } from "./value-locations.js";

export const componentKinds = ["pyroscope.receive_http", "pyroscope.write"] as const;
export type ComponentKind = (typeof componentKinds)[number];

/** A top-level component block, decoded but not yet checked against its schema. */
export interface DecodedComponent {
  kind: ComponentKind;
  label: string;
  pos: Position;
  data: Record<string, unknown>;
  locations: ValueLocations;
}

/** Alloy labels are identifiers, which also keeps target names (`label/endpoint`) unambiguous. */
const validLabel = /^[\p{L}_][\p{L}\p{N}_]*$/u;

function isComponentKind(name: string): name is ComponentKind {
  return (componentKinds as readonly string[]).includes(name);
}

/**
 * Decodes every component of a file. Components with problems are left out of the result and their
 * problems appended to `diagnostics`.
 */
export function decodeComponents(
  alloyFile: AlloyFile,
  context: { file: string; env: Environment },
  diagnostics: Diagnostic[],
): DecodedComponent[] {
  const components: DecodedComponent[] = [];
  const firstByName = new Map<string, Position>();
  const report = (pos: Position, message: string) => diagnostics.push(diagnosticAt(context.file, pos, message));

  for (const statement of alloyFile.body) {
    const { name, pos } = statement;
    if (statement.kind === "attribute") {
      report(pos, `unexpected attribute ${JSON.stringify(name)} outside a component block`);
      continue;
    }
    if (!isComponentKind(name)) {
      report(pos, `unknown block ${JSON.stringify(name)}; expected ${componentKinds.join(" or ")}`);
      continue;
    }
    const { label } = statement;
    if (label === undefined) {
      report(pos, `${name} needs a label, e.g. ${name} "default" { ... }`);
      continue;
    }
    if (!validLabel.test(label)) {
      const rule = "use letters, digits and underscores, not starting with a digit";
      report(pos, `invalid label ${JSON.stringify(label)}: ${rule}`);
      continue;
    }
    const id = `${name} ${JSON.stringify(label)}`;
    const first = firstByName.get(id);
    if (first) {
      report(pos, `duplicate component ${id}; first defined at ${first.line}:${first.col}`);
      continue;
    }
    firstByName.set(id, pos);

    const locations = new ValueLocations(pos);
    const before = diagnostics.length;
    const data = decodeBody(statement.body, [], { ...context, locations }, diagnostics);
    if (diagnostics.length === before) components.push({ kind: name, label, pos, data, locations });
  }
  return components;
}
