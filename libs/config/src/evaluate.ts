import type { Expression } from "./ast.js";
import { ExportError } from "./component-exports.js";
import { cannotEvaluate, ComponentReference } from "./component-reference.js";
import { ConfigError } from "./config-error.js";
import { diagnosticAt, type Position } from "./diagnostic.js";
import { FunctionError } from "./function-error.js";
import { binaryOperation, OperationError, unaryOperation } from "./operators.js";
import type { Scope } from "./scope.js";
import { isStdlibName, stdlibFunction } from "./stdlib.js";
import { callFunction } from "./stdlib-function.js";
import { ValueLocations, type ValuePath } from "./value-locations.js";
import { describeValueType, isObjectValue } from "./value-type.js";

/** Environment variables, as `sys.env("X")` reads them. */
export type Environment = Readonly<Record<string, string | undefined>>;

export interface EvaluationContext {
  file: string;
  scope: Scope;
  locations: ValueLocations;
}

/**
 * Evaluates an expression to plain data (objects without a prototype, so any key is safe), recording
 * where each list item and object field came from. A dotted name outside the standard library is a
 * component reference: an evaluated component's export reads its value, any other stays symbolic
 * (forward_to resolves it once every component is known).
 */
export function evaluate(expression: Expression, path: ValuePath, context: EvaluationContext): unknown {
  switch (expression.kind) {
    case "string":
    case "number":
    case "bool":
      return expression.value;
    case "null":
      return null;
    case "list":
      return expression.items.map((item, index) => {
        context.locations.set([...path, index], { kind: "value", pos: item.pos, namePos: item.pos });
        return evaluate(item, [...path, index], context);
      });
    case "object": {
      const object: Record<string, unknown> = Object.create(null);
      // A key set twice takes the later value, as Alloy's evaluator does (only attributes and blocks
      // may not repeat).
      for (const { key, keyPos, value } of expression.fields) {
        context.locations.set([...path, key], { kind: "value", pos: value.pos, namePos: keyPos });
        object[key] = evaluate(value, [...path, key], context);
      }
      return object;
    }
    case "identifier":
      // `constants` is the one standard library name that is a value.
      return expression.name === "constants"
        ? Object.assign(Object.create(null), context.scope.constants)
        : reference([expression.name], expression.pos, context);
    case "access":
      return access(expression, context);
    case "index":
      return index(expression, context);
    case "call":
      return call(expression, context);
    case "unary":
    case "binary":
      return operation(expression, context).value;
  }
}

/**
 * A value with its number kind as Alloy keeps it: a float (a literal with a fraction or an exponent,
 * or what arithmetic made of one) divides as a float even when whole, `3.0 / 2` is 1.5 where `3 / 2`
 * is 1. Only operators look at the kind; every other use of a number reads its value.
 */
interface Operand {
  value: unknown;
  float: boolean;
}

function operation(expression: Extract<Expression, { kind: "unary" | "binary" }>, context: EvaluationContext): Operand {
  if (expression.kind === "unary") {
    const { value, float } = numberOperand(expression.operand, context);
    const { pos } = expression.operand;
    return { value: operate(context, () => unaryOperation(expression.operator, value), { left: pos, right: pos }), float };
  }
  const { operator, left, right } = expression;
  const [a, b] = [numberOperand(left, context), numberOperand(right, context)];
  const float = a.float || b.float;
  return { value: operate(context, () => binaryOperation(operator, a.value, b.value, float), { left: left.pos, right: right.pos }), float };
}

/**
 * Evaluates a part of a larger expression. Its lists and objects do not become the attribute's value,
 * so their places go to a record of their own; problems in the result are reported at the expression.
 */
function operand(expression: Expression, context: EvaluationContext): unknown {
  return evaluate(expression, [], { ...context, locations: new ValueLocations(expression.pos) });
}

/** An operator's operand with its number kind: a number from elsewhere (a function, an export) is a float when it is not whole. */
function numberOperand(expression: Expression, context: EvaluationContext): Operand {
  if (expression.kind === "number") return { value: expression.value, float: expression.float };
  if (expression.kind === "unary" || expression.kind === "binary") return operation(expression, context);
  const value = operand(expression, context);
  return { value, float: typeof value === "number" && !Number.isInteger(value) };
}

/** The dotted name an identifier and the accesses on it spell, e.g. `sys.env`; undefined for anything else. */
function dottedName(expression: Expression): string[] | undefined {
  if (expression.kind === "identifier") return [expression.name];
  if (expression.kind !== "access") return undefined;
  const prefix = dottedName(expression.value);
  return prefix && [...prefix, expression.name];
}

/**
 * A dotted name outside the standard library names a component's export: its value when the relay
 * evaluates that component (local.file), else a symbolic reference.
 */
function reference(path: string[], pos: Position, context: EvaluationContext): unknown {
  const text = path.join(".");
  if (stdlibFunction(text)) throw error(context, pos, `${text} is a function: call it, as in ${text}(...)`);
  if (isStdlibName(path[0]!)) throw error(context, pos, `${text} does not exist in the standard library`);
  try {
    const exported = context.scope.exports?.read(path);
    return exported === undefined ? new ComponentReference(path, context.scope.module) : exported.value;
  } catch (cause) {
    if (!(cause instanceof ExportError)) throw cause;
    throw error(context, pos, cause.message, cause);
  }
}

/** A field of a value, e.g. `constants.os` or `encoding.from_json(text).key`, or one more part of a dotted name. */
function access(expression: Expression & { kind: "access" }, context: EvaluationContext): unknown {
  const path = dottedName(expression);
  if (path && path[0] !== "constants") return reference(path, expression.pos, context);
  const value = operand(expression.value, context);
  const field = JSON.stringify(expression.name);
  if (value instanceof ComponentReference) throw error(context, expression.pos, cannotEvaluate(value));
  if (!isObjectValue(value)) throw error(context, expression.namePos, `cannot read field ${field} of a ${describeValueType(value)}`);
  if (!Object.hasOwn(value, expression.name)) throw error(context, expression.namePos, `field ${field} does not exist`);
  return value[expression.name];
}

/** A list item by number, or an object field by name: null when the object has no such field, as in Alloy. */
function index(expression: Expression & { kind: "index" }, context: EvaluationContext): unknown {
  const value = operand(expression.value, context);
  const key = operand(expression.index, context);
  if (value instanceof ComponentReference) throw error(context, expression.pos, cannotEvaluate(value));
  if (Array.isArray(value)) {
    if (typeof key !== "number") throw error(context, expression.index.pos, `a list index must be a number, got ${describeValueType(key)}`);
    // Alloy converts the index to an integer, cutting a fraction off toward zero: [a, b][1.9] is b.
    const position = Math.trunc(key) + 0;
    if (!(position >= 0 && position < value.length)) {
      throw error(context, expression.index.pos, `index ${position} is out of range for a list of ${value.length}`);
    }
    return value[position];
  }
  if (isObjectValue(value)) {
    if (typeof key !== "string") throw error(context, expression.index.pos, `an object key must be a string, got ${describeValueType(key)}`);
    return Object.hasOwn(value, key) ? value[key] : null;
  }
  throw error(context, expression.pos, `cannot index a ${describeValueType(value)}; expected a list or an object`);
}

function call(expression: Expression & { kind: "call" }, context: EvaluationContext): unknown {
  const { callee, args, pos } = expression;
  const path = dottedName(callee);
  if (!path) throw error(context, pos, "only functions of the standard library can be called, by their name");
  const fnName = path.join(".");
  const fn = stdlibFunction(fnName);
  if (!fn) throw error(context, pos, `unknown function ${JSON.stringify(fnName)}`);
  const values = args.map((argument) => operand(argument, context));
  try {
    return callFunction(fn, values, context.scope);
  } catch (cause) {
    if (!(cause instanceof FunctionError)) throw cause;
    const at = cause.argument === undefined ? pos : (args[cause.argument]?.pos ?? pos);
    throw error(context, at, `${fnName}: ${cause.message}`, cause);
  }
}

function operate(context: EvaluationContext, run: () => unknown, operands: Record<"left" | "right", Position>): unknown {
  try {
    return run();
  } catch (cause) {
    if (!(cause instanceof OperationError)) throw cause;
    throw error(context, operands[cause.operand], cause.message, cause);
  }
}

function error(context: EvaluationContext, pos: Position, message: string, cause?: unknown): ConfigError {
  return new ConfigError([diagnosticAt(context.file, pos, message)], { cause });
}
