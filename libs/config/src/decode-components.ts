import type { AlloyFile, Block } from "./ast.js";
import { decodeBody } from "./decode-body.js";
import { describeLocation, diagnosticAt, type Diagnostic, type Position } from "./diagnostic.js";
import { type LocalFileBlock, LocalFiles } from "./local-files.js";
import type { IgnoredComponent, LocalFileConfig } from "./relay-config.js";
import type { FileReader } from "./schema-values.js";
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
 * Alloy's pyroscope components the relay does not run: ignored like any other component. Any other
 * `pyroscope.` name is refused, as Alloy refuses it: a misspelt `pyroscope.recieve_http` would
 * otherwise be ignored, and nothing would listen where the file says.
 */
const otherPyroscopeComponents = new Set(["pyroscope.ebpf", "pyroscope.enrich", "pyroscope.java", "pyroscope.relabel", "pyroscope.scrape"]);

/** The component the relay evaluates besides its own, for the exports they read. */
const localFile = "local.file";

/**
 * Sorts the files' top-level blocks into the relay's components, decoded, the local.file components
 * they read, evaluated (their files read through `readFile`), and every other block, ignored without
 * evaluating anything in it (its expressions may read components the relay does not run), the
 * local.file components nothing of the relay reads included. As in Alloy, a block
 * name and label identify one block across all files. Components with problems are left out of the
 * result and their problems appended to `diagnostics`.
 */
export function decodeComponents(
  files: readonly ParsedFile[],
  scope: Scope,
  diagnostics: Diagnostic[],
  readFile: FileReader,
): { components: DecodedComponent[]; ignored: IgnoredComponent[]; localFiles: LocalFileConfig[] } {
  const ignored: IgnoredComponent[] = [];
  const relayBlocks: { kind: ComponentKind; label: string; file: string; block: Block }[] = [];
  const localFileBlocks = new Map<string, LocalFileBlock>();
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
      } else if (!isComponentKind(name) && name !== localFile) {
        const id = label === undefined ? name : `${name} ${JSON.stringify(label)}`;
        if (!isDuplicate(id, pos, label === undefined ? "block" : "component")) {
          ignored.push({ name, ...(label === undefined ? {} : { label }), file, line: pos.line, col: pos.col });
        }
      } else if (label === undefined) {
        report(pos, `${name} needs a label, e.g. ${name} "default" { ... }`);
      } else if (!isDuplicate(`${name} ${JSON.stringify(label)}`, pos, "component")) {
        if (isComponentKind(name)) relayBlocks.push({ kind: name, label, file, block: statement });
        else localFileBlocks.set(label, { file, block: statement });
      }
    }
  }

  // Decoded once every local.file is known: a component may read one defined after it, or in another file.
  const localFiles = new LocalFiles(localFileBlocks, scope, readFile, diagnostics);
  const components = relayBlocks.flatMap(({ kind, label, file, block }): DecodedComponent[] => {
    const locations = new ValueLocations(block.pos);
    const before = diagnostics.length;
    const data = decodeBody(block.body, [], { file, scope: { ...scope, exports: localFiles }, locations }, diagnostics);
    return diagnostics.length === before ? [{ kind, label, file, pos: block.pos, data, locations }] : [];
  });
  for (const [label, { file, block }] of localFiles.unread()) ignored.push({ name: localFile, label, file, line: block.pos.line, col: block.pos.col });
  // In the order of the files and of the blocks in them, as without the local.file components left out.
  const fileOrder = new Map(files.map(({ file }, i) => [file, i]));
  ignored.sort((a, b) => fileOrder.get(a.file)! - fileOrder.get(b.file)! || a.line - b.line || a.col - b.col);
  return { components, ignored, localFiles: localFiles.configs() };
}
