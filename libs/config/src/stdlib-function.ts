import { FunctionError } from "./function-error.js";
import { numberText } from "./number-text.js";
import type { Scope } from "./scope.js";
import { Secret, secretNotString } from "./secret.js";
import { describeValueType } from "./value-type.js";

/** The evaluated arguments of a call, read with Alloy's conversions; a misfit is a FunctionError at it. */
export class FunctionArguments {
  constructor(readonly values: readonly unknown[]) {}

  /** Alloy converts a number to a string where a string is expected. */
  string(index: number): string {
    return toText(this.values[index], () => `argument ${index + 1}`, index);
  }

  list(index: number): readonly unknown[] {
    const value = this.values[index];
    if (Array.isArray(value)) return value;
    throw mismatch(`argument ${index + 1}`, "list", value, index);
  }

  /** A list whose items are read as strings. */
  strings(index: number): string[] {
    return this.list(index).map((item, position) => toText(item, () => `argument ${index + 1}[${position}]`, index));
  }

  /** The arguments from `index` on, as they are. */
  rest(index: number): readonly unknown[] {
    return this.values.slice(index);
  }
}

/** A standard library function: how many arguments it takes (at most Infinity) and what it does. */
export interface StdlibFunction {
  readonly arity: readonly [min: number, max: number];
  run(args: FunctionArguments, scope: Scope): unknown;
}

/** Checks the number of arguments, then runs the function; its problems are FunctionErrors. */
export function callFunction(fn: StdlibFunction, values: readonly unknown[], scope: Scope): unknown {
  const [min, max] = fn.arity;
  if (values.length < min || values.length > max) {
    const count = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    const plural = (max === Infinity ? min : max) === 1 ? "" : "s";
    throw new FunctionError(`expected ${count} argument${plural}, got ${values.length}`);
  }
  return fn.run(new FunctionArguments(values), scope);
}

function toText(value: unknown, name: () => string, index: number): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return numberText(value);
  if (value instanceof Secret) throw new FunctionError(`${name()}: ${secretNotString}`, index);
  throw mismatch(name(), "string", value, index);
}

function mismatch(name: string, expected: string, value: unknown, index: number): FunctionError {
  return new FunctionError(`${name}: expected ${expected}, got ${describeValueType(value)}`, index);
}
