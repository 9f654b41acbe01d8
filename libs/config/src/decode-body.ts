import type { Statement } from "./ast.js";
import { ConfigError } from "./config-error.js";
import { diagnosticAt, type Diagnostic, type Position } from "./diagnostic.js";
import { evaluate, type EvaluationContext } from "./evaluate.js";
import type { ValuePath } from "./value-locations.js";
import { blockBody } from "./value-type.js";

/**
 * Turns a block body into plain data for the schema: attributes become their values, nested blocks
 * become lists of decoded bodies under their name (the schema decides how many are allowed).
 * Problems the schema cannot see (duplicates, labels on nested blocks, evaluation errors) are
 * appended to `diagnostics`.
 */
export function decodeBody(body: readonly Statement[], path: ValuePath, context: EvaluationContext, diagnostics: Diagnostic[]): Record<string, unknown> {
  const decoded: Record<string, unknown> = Object.create(null);
  Object.defineProperty(decoded, blockBody, { value: true });
  const attributes = new Map<string, Position>();
  const blocks = new Map<string, Array<Record<string, unknown>>>();
  const report = (pos: Position, message: string) => diagnostics.push(diagnosticAt(context.file, pos, message));

  for (const statement of body) {
    const { name, pos } = statement;
    const firstAttribute = attributes.get(name);
    if (statement.kind === "attribute") {
      if (firstAttribute) {
        const { line, col } = firstAttribute;
        report(pos, `duplicate attribute ${JSON.stringify(name)}; first set at ${line}:${col}`);
        continue;
      }
      if (blocks.has(name)) {
        report(pos, `${JSON.stringify(name)} is already defined as a block`);
        continue;
      }
      attributes.set(name, pos);
      context.locations.set([...path, name], { kind: "attribute", pos: statement.value.pos, namePos: pos });
      try {
        decoded[name] = evaluate(statement.value, [...path, name], context);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        diagnostics.push(...error.diagnostics);
      }
      continue;
    }
    if (firstAttribute) {
      const { line, col } = firstAttribute;
      report(pos, `${JSON.stringify(name)} is already defined as an attribute at ${line}:${col}`);
      continue;
    }
    if (statement.label !== undefined) report(pos, `block ${JSON.stringify(name)} does not take a label`);
    let list = blocks.get(name);
    if (!list) {
      list = [];
      blocks.set(name, list);
      decoded[name] = list;
      context.locations.set([...path, name], { kind: "block", pos, namePos: pos });
    }
    const blockPath = [...path, name, list.length];
    context.locations.set(blockPath, { kind: "block", pos, namePos: pos });
    list.push(decodeBody(statement.body, blockPath, context, diagnostics));
  }
  return decoded;
}
