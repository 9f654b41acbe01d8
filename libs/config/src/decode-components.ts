import type { AlloyFile } from "./ast.js";
import { decodeBody } from "./decode-body.js";
import { describeLocation, diagnosticAt, type Diagnostic, type Position } from "./diagnostic.js";
import type { IgnoredComponent } from "./relay-config.js";
import type { Scope } from "./scope.js";
import { ValueLocations } from "./value-locations.js";

export const componentKinds = ["pyroscope.receive_http", "pyroscope.write"] as const;
export type ComponentKind = (typeof componentKinds)[number];

/** A parsed configuration file; a configuration may be a directory of them. */
export interface ParsedFile {
  file: string;
  alloyFile: AlloyFile;
}

/** A top-level component block, decoded but not yet checked against its schema. */
export interface DecodedComponent {
  kind: ComponentKind;
  label: string;
  file: string;
  pos: Position;
  data: Record<string, unknown>;
  locations: ValueLocations;
}

/**
 * Alloy labels are identifiers (letters, decimal digits, underscores; not true, false or null), which
 * also keeps target names (`label/endpoint`) unambiguous.
 */
const validLabel = /^(?!(?:true|false|null)$)[\p{L}_][\p{L}\p{Nd}_]*$/u;

function isComponentKind(name: string): name is ComponentKind {
  return (componentKinds as readonly string[]).includes(name);
}

/**
 * Sorts the files' top-level blocks into the relay's components, decoded, and every other block,
 * ignored without evaluating anything in it (its expressions may read components the relay does not
 * run). As in Alloy, a block name and label identify one block across all files. Components with
 * problems are left out of the result and their problems appended to `diagnostics`.
 */
/**
 * Alloy's pyroscope components the relay does not run: ignored like any other component. Any other
 * `pyroscope.` name is refused, as Alloy refuses it: a misspelt `pyroscope.recieve_http` would
 * otherwise be ignored, and nothing would listen where the file says.
 */
const otherPyroscopeComponents = new Set(["pyroscope.ebpf", "pyroscope.enrich", "pyroscope.java", "pyroscope.relabel", "pyroscope.scrape"]);

export function decodeComponents(
  files: readonly ParsedFile[],
  scope: Scope,
  diagnostics: Diagnostic[],
): { components: DecodedComponent[]; ignored: IgnoredComponent[] } {
  const components: DecodedComponent[] = [];
  const ignored: IgnoredComponent[] = [];
  const firstById = new Map<string, { file: string; pos: Position }>();
  // An `import.*` block's label names a namespace of custom components, which Alloy looks up before
  // its own: with an import labelled "pyroscope", any pyroscope.<name> may be one of the module's.
  const imported = new Set(
    files.flatMap(({ alloyFile }) =>
      alloyFile.body.flatMap((statement) =>
        statement.kind === "block" && statement.name.startsWith("import.") && statement.label !== undefined ? [statement.label] : [],
      ),
    ),
  );

  for (const { file, alloyFile } of files) {
    const report = (pos: Position, message: string) => diagnostics.push(diagnosticAt(file, pos, message));
    const isDuplicate = (id: string, pos: Position, what: string): boolean => {
      const first = firstById.get(id);
      if (first) report(pos, `duplicate ${what} ${id}; first defined at ${describeLocation(first.file, first.pos, file)}`);
      else firstById.set(id, { file, pos });
      return first !== undefined;
    };
    for (const statement of alloyFile.body) {
      const { name, pos } = statement;
      if (statement.kind === "attribute") {
        report(pos, `unexpected attribute ${JSON.stringify(name)} outside a component block`);
        continue;
      }
      const { label } = statement;
      if (label !== undefined && !validLabel.test(label)) {
        const rule = "use letters, digits and underscores, not starting with a digit";
        report(pos, `invalid label ${JSON.stringify(label)}: ${rule}`);
      } else if (name.startsWith("pyroscope.") && !otherPyroscopeComponents.has(name) && !isComponentKind(name) && !imported.has("pyroscope")) {
        report(
          pos,
          `unknown component ${name}: Alloy's pyroscope components are ${[...otherPyroscopeComponents, "pyroscope.receive_http", "pyroscope.write"].sort().join(", ")}`,
        );
      } else if (!isComponentKind(name)) {
        const id = label === undefined ? name : `${name} ${JSON.stringify(label)}`;
        if (!isDuplicate(id, pos, label === undefined ? "block" : "component")) {
          ignored.push({ name, ...(label === undefined ? {} : { label }), file, line: pos.line, col: pos.col });
        }
      } else if (label === undefined) {
        report(pos, `${name} needs a label, e.g. ${name} "default" { ... }`);
      } else if (!isDuplicate(`${name} ${JSON.stringify(label)}`, pos, "component")) {
        const locations = new ValueLocations(pos);
        const before = diagnostics.length;
        const data = decodeBody(statement.body, [], { file, scope, locations }, diagnostics);
        if (diagnostics.length === before) components.push({ kind: name, label, file, pos, data, locations });
      }
    }
  }
  return { components, ignored };
}
