import type { Block, Statement } from "./ast.js";
import { type ComponentExports, ExportError } from "./component-exports.js";
import { validLabel } from "./component-id.js";
import { isComponentKind } from "./component-kinds.js";

/** A statement of a module's body with its file: the top level spans the files of a configuration. */
export interface PlacedStatement {
  file: string;
  statement: Statement;
}

/** A `declare` block: the custom component its label names, and what is visible where it is defined. */
export interface Declare {
  file: string;
  block: Block;
  label: string;
  /** What its body looks custom components up in, after its own declares (Alloy looks them up where the declare is, not where its instance is). */
  definitions: Definitions;
}

/** The custom components a body may instantiate, by name, and the import namespaces it sees. */
export interface Definitions {
  declares: ReadonlyMap<string, Declare>;
  /** An `import.*` block's label names a namespace of custom components, which Alloy looks up before a name's other meanings. */
  imported: ReadonlySet<string>;
}

export const noDefinitions: Definitions = { declares: new Map(), imported: new Set() };

/** A body's own declares and imports, before those of where it is defined; of two declares with one label the first (the second is reported as a duplicate). */
export function definitionsOf(statements: readonly PlacedStatement[], outer: Definitions): Definitions {
  const declares = new Map(outer.declares);
  const imported = new Set(outer.imported);
  const definitions: Definitions = { declares, imported };
  const own = new Set<string>();
  for (const { file, statement } of statements) {
    if (statement.kind !== "block" || statement.label === undefined || !validLabel.test(statement.label)) continue;
    const { name, label } = statement;
    if (name.startsWith("import.")) imported.add(label);
    else if (name === "declare" && !own.has(label)) {
      own.add(label);
      declares.set(label, { file, block: statement, label, definitions });
    }
  }
  return definitions;
}

/** A declare's body, each statement with the declare's file. */
export function bodyOf(declare: Declare): PlacedStatement[] {
  return declare.block.body.map((statement) => ({ file: declare.file, statement }));
}

/**
 * Whether an instance of `declare` would run a component of the relay's (pyroscope.receive_http,
 * pyroscope.relabel, pyroscope.write) in its body,
 * a foreach there or an instance of another such declare: only then does the relay expand its
 * instances (and refuses what it cannot run there); another custom component is ignored, unevaluated.
 * `enclosing` are the declares being expanded, whose instances inside would be a cycle.
 */
export function runsRelayComponents(declare: Declare, enclosing: ReadonlySet<Declare>): boolean {
  if (enclosing.has(declare)) return false;
  const body = bodyOf(declare);
  return relayBlocksIn(body, definitionsOf(body, declare.definitions), new Set([...enclosing, declare])).length > 0;
}

/**
 * The blocks of a body that are, or instantiate a custom component that runs, a relay component, and
 * those in its foreach templates (Alloy runs a template's components once per item).
 */
export function relayBlocksIn(statements: readonly PlacedStatement[], definitions: Definitions, enclosing: ReadonlySet<Declare>): Block[] {
  return statements.flatMap(({ file, statement }): Block[] => {
    if (statement.kind !== "block") return [];
    const declare = definitions.declares.get(statement.name);
    if (isComponentKind(statement.name) || (declare !== undefined && runsRelayComponents(declare, enclosing))) return [statement];
    return statement.name === "foreach" ? relayBlocksInForeach(statement, file, definitions, enclosing) : [];
  });
}

/** The relay blocks of a foreach block's template (see `relayBlocksIn`), which may define declares of its own, as any body. */
export function relayBlocksInForeach(foreach: Block, file: string, definitions: Definitions, enclosing: ReadonlySet<Declare>): Block[] {
  const template = foreachTemplate(foreach, file);
  return relayBlocksIn(template, definitionsOf(template, definitions), enclosing);
}

/** The components of a foreach block's `template`. */
function foreachTemplate(foreach: Block, file: string): PlacedStatement[] {
  return foreach.body.flatMap((statement) =>
    statement.kind === "block" && statement.name === "template" ? statement.body.map((inner) => ({ file, statement: inner })) : [],
  );
}

/**
 * What a declare body's expressions read besides its local.file components: `argument.NAME...`, and
 * the other components of the body, whose exports stay references. Nothing else is in the body's
 * scope, as in Alloy: a top-level component is passed in through an argument.
 */
export function bodyExports(declare: Declare, statements: readonly PlacedStatement[], args: ComponentExports): ComponentExports {
  const ids = new Set(
    statements.flatMap(({ statement }) =>
      statement.kind === "block" ? [[statement.name, statement.label].filter((part) => part !== undefined).join(".")] : [],
    ),
  );
  return {
    read(path) {
      if (path[0] === "argument") return args.read(path);
      if (path.some((_, index) => ids.has(path.slice(0, index + 1).join(".")))) return undefined;
      const scope = `in declare ${JSON.stringify(declare.label)} an expression sees only its arguments (argument.NAME.value) and the components of its body`;
      throw new ExportError(
        `component ${JSON.stringify(path.join("."))} does not exist or is out of scope: ${scope}; pass a top-level component in an argument`,
      );
    },
  };
}
