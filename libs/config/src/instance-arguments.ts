import { z } from "zod";
import type { Attribute, Block } from "./ast.js";
import { type ComponentExports, ExportError } from "./component-exports.js";
import { LazyEvaluation } from "./lazy-evaluation.js";
import { ComponentReference } from "./component-reference.js";
import { ConfigError } from "./config-error.js";
import type { Declare } from "./custom-components.js";
import { decodeBody } from "./decode-body.js";
import { describeLocation, diagnosticAt, type Diagnostic, type Position } from "./diagnostic.js";
import { evaluate } from "./evaluate.js";
import { alloyBoolean, alloyString } from "./schema-values.js";
import type { Scope } from "./scope.js";
import { validateComponent } from "./validate-component.js";
import { ValueLocations } from "./value-locations.js";
import { describeValueType, isObjectValue } from "./value-type.js";

/** An `argument` block, as Alloy decodes it: required unless `optional`, its `default` null unless given. */
const argumentSchema = z.strictObject({
  optional: alloyBoolean.default(false),
  default: z.unknown().optional(),
  comment: alloyString.default(""),
});

/** A custom component instance: its block, and the scope of the body it is in, where its attributes are evaluated. */
export interface Instance {
  file: string;
  block: Block;
  scope: Scope;
}

type ArgumentState = { kind: "failed"; reason: string } | { kind: "loaded"; value: unknown };

/**
 * The `argument` namespace of one custom component instance, as its body reads it: `argument.NAME.value`
 * is the instance's attribute NAME, evaluated where the instance is (so it may name a top-level
 * `pyroscope.write.x.receiver`), or, when the instance does not set it, the argument's `default`,
 * evaluated in the body, if the argument is `optional`. A value is evaluated when first read, as a
 * local.file is: an attribute that only ignored components read may hold what only Alloy evaluates.
 * Problems go to `diagnostics`, at the instance or the argument block.
 */
export class InstanceArguments implements ComponentExports {
  private readonly states = new LazyEvaluation<ArgumentState>((name) => `argument.${name}`);
  /** The instance's attributes, the first of each name. */
  private readonly attributes = new Map<string, Attribute>();

  constructor(
    private readonly instance: Instance,
    private readonly declare: Declare,
    /** The declare's `argument` blocks, by label. */
    private readonly blocks: ReadonlyMap<string, Block>,
    /** The body's scope, its local.file components included; known once they are. */
    private readonly bodyScope: () => Scope,
    private readonly diagnostics: Diagnostic[],
  ) {
    for (const statement of instance.block.body) {
      if (statement.kind === "attribute" && !this.attributes.has(statement.name)) this.attributes.set(statement.name, statement);
    }
  }

  /**
   * Reports what Alloy refuses, whether the body reads it or not: a block or an unknown name among
   * the instance's attributes, a required argument it does not set. An argument it does not set has
   * its block evaluated for that, its default included.
   */
  check(): void {
    const report = (pos: Position, message: string) => this.diagnostics.push(diagnosticAt(this.instance.file, pos, message));
    const declare = `declare ${JSON.stringify(this.declare.label)}`;
    for (const statement of this.instance.block.body) {
      const { name, pos } = statement;
      const first = this.attributes.get(name);
      if (statement.kind === "block") {
        report(pos, `unexpected block ${JSON.stringify(name)}: a custom component takes an attribute for each argument of its ${declare}`);
      } else if (first !== statement) {
        report(pos, `duplicate attribute ${JSON.stringify(name)}; first set at ${first!.pos.line}:${first!.pos.col}`);
      } else if (!this.blocks.has(name)) {
        const known = this.blocks.size === 0 ? "which has no argument" : `whose arguments are ${[...this.blocks.keys()].join(", ")}`;
        report(pos, `argument ${JSON.stringify(name)} is not defined in ${declare}, ${known}`);
      }
    }
    // Alloy evaluates every argument block: one the instance sets is checked all the same.
    for (const name of this.blocks.keys()) {
      if (this.attributes.has(name)) this.checkedBlock(name);
      else this.resolve(name);
    }
  }

  read(path: readonly string[]): { value: unknown } | undefined {
    const [namespace, name, exported, ...fields] = path;
    if (namespace !== "argument") return undefined;
    if (name === undefined) throw new ExportError("argument is not a value: an argument reads as argument.NAME.value");
    const id = `argument.${name}`;
    if (!this.blocks.has(name))
      throw new ExportError(`${id} is not defined: declare ${JSON.stringify(this.declare.label)} has no argument ${JSON.stringify(name)} block`);
    const state = this.resolve(name);
    if (state.kind === "failed") throw new ExportError(`${id} cannot be read: ${state.reason}`);
    if (exported === undefined) return { value: Object.assign(Object.create(null), { value: state.value }) };
    if (exported !== "value") throw new ExportError(`${id} has no export ${JSON.stringify(exported)}: an argument exports value`);
    return { value: fields.reduce(field, state.value) };
  }

  private resolve(name: string): ArgumentState {
    return this.states.get(name, () => this.load(name));
  }

  private load(name: string): ArgumentState {
    const failed: ArgumentState = { kind: "failed", reason: "it has errors (reported at it)" };
    const attribute = this.attributes.get(name);
    if (attribute !== undefined) {
      const context = { file: this.instance.file, scope: this.instance.scope, locations: new ValueLocations(attribute.value.pos) };
      try {
        return { kind: "loaded", value: evaluate(attribute.value, [], context) };
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        this.diagnostics.push(...error.diagnostics);
        return failed;
      }
    }
    const block = this.blocks.get(name)!;
    const argument = this.checkedBlock(name);
    if (argument === undefined) return failed;
    if (!argument.optional) {
      const where = describeLocation(this.declare.file, block.pos, this.instance.file);
      const message = `missing required argument ${JSON.stringify(name)} (declare ${JSON.stringify(this.declare.label)} defines it at ${where}, not optional)`;
      this.diagnostics.push(diagnosticAt(this.instance.file, this.instance.block.pos, message));
      return { kind: "failed", reason: "the instance does not set it (reported at it)" };
    }
    return { kind: "loaded", value: argument.default ?? null };
  }

  /** The argument's block as Alloy takes it (its default evaluated in the body); undefined once its problems are reported. */
  private checkedBlock(name: string): z.output<typeof argumentSchema> | undefined {
    const block = this.blocks.get(name)!;
    const { file } = this.declare;
    const locations = new ValueLocations(block.pos);
    const before = this.diagnostics.length;
    const data = decodeBody(block.body, [], { file, scope: this.bodyScope(), locations }, this.diagnostics);
    if (this.diagnostics.length > before) return undefined;
    const result = validateComponent(argumentSchema, data, locations, file);
    if (result.ok) return result.value;
    this.diagnostics.push(...result.diagnostics);
    return undefined;
  }
}

/**
 * A field of an argument's value, as `.name` reads one. A reference stays one, a field longer: an
 * argument set to `pyroscope.write.x` reads `.receiver` as `pyroscope.write.x.receiver` does.
 */
function field(value: unknown, name: string): unknown {
  if (value instanceof ComponentReference) return new ComponentReference([...value.path, name], value.module);
  if (!isObjectValue(value)) throw new ExportError(`cannot read field ${JSON.stringify(name)} of a ${describeValueType(value)}`);
  if (!Object.hasOwn(value, name)) throw new ExportError(`field ${JSON.stringify(name)} does not exist`);
  return value[name];
}
