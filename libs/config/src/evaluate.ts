import type { Expression } from "./ast.js";
import { ComponentReference } from "./component-reference.js";
import { ConfigError } from "./config-error.js";
import { diagnosticAt, type Position } from "./diagnostic.js";
import type { ValueLocations, ValuePath } from "./value-locations.js";
import { describeValueType } from "./value-type.js";

export type Environment = Readonly<Record<string, string | undefined>>;

export interface EvaluationContext {
  file: string;
  env: Environment;
  locations: ValueLocations;
}

/** An unset variable reads as "", as in Alloy. */
function readEnv(env: Environment, name: string): string {
  return env[name] ?? "";
}

/** The functions users call in these components' configurations; each takes one string. */
const functions: Record<string, (env: Environment, arg: string) => string> = {
  env: readEnv,
  "sys.env": readEnv,
};

/**
 * Evaluates an expression to plain data (objects without a prototype, so any key is safe), recording
 * where each list item and object field came from. References stay symbolic.
 */
export function evaluate(expression: Expression, path: ValuePath, context: EvaluationContext): unknown {
  switch (expression.kind) {
    case "string":
    case "number":
    case "bool":
      return expression.value;
    case "null":
      return null;
    case "reference":
      return new ComponentReference(expression.path);
    case "list":
      return expression.items.map((item, index) => {
        context.locations.set([...path, index], { kind: "value", pos: item.pos, namePos: item.pos });
        return evaluate(item, [...path, index], context);
      });
    case "object": {
      const object: Record<string, unknown> = Object.create(null);
      const seen = new Map<string, Position>();
      for (const { key, keyPos, value } of expression.fields) {
        const first = seen.get(key);
        if (first) {
          throw error(context, keyPos, `duplicate key ${JSON.stringify(key)}; first set at ${first.line}:${first.col}`);
        }
        seen.set(key, keyPos);
        context.locations.set([...path, key], { kind: "value", pos: value.pos, namePos: keyPos });
        object[key] = evaluate(value, [...path, key], context);
      }
      return object;
    }
    case "call":
      return call(expression, path, context);
  }
}

function call(expression: Expression & { kind: "call" }, path: ValuePath, context: EvaluationContext): unknown {
  const name = expression.callee.join(".");
  const fn = Object.hasOwn(functions, name) ? functions[name] : undefined;
  if (!fn) throw error(context, expression.pos, `unknown function ${JSON.stringify(name)}; supported: env, sys.env`);
  if (expression.args.length !== 1) {
    throw error(context, expression.pos, `${name}: expected 1 argument, got ${expression.args.length}`);
  }
  const [argument] = expression.args as [Expression];
  const value = evaluate(argument, path, context);
  if (typeof value !== "string") {
    throw error(context, argument.pos, `${name}: expected a string argument, got ${describeValueType(value)}`);
  }
  return fn(context.env, value);
}

function error(context: EvaluationContext, pos: Position, message: string): ConfigError {
  return new ConfigError([diagnosticAt(context.file, pos, message)]);
}
