import { test } from "node:test";
import assert from "node:assert/strict";
import { ComponentReference } from "./component-reference.js";
import { FunctionError } from "./function-error.js";
import { callFunction, FunctionArguments, type StdlibFunction } from "./stdlib-function.js";

const scope = { env: {}, constants: {} };
const echo = (arity: readonly [number, number]): StdlibFunction => ({ arity, run: (args) => args.values.length });

function functionError(run: () => unknown, message: string, argument?: number) {
  assert.throws(run, (error: unknown) => error instanceof FunctionError && error.message === message && error.argument === argument);
}

test("checks the number of arguments before running", () => {
  assert.equal(callFunction(echo([1, 2]), ["a", "b"], scope), 2);
  functionError(() => callFunction(echo([1, 1]), [], scope), "expected 1 argument, got 0");
  functionError(() => callFunction(echo([2, 2]), [1], scope), "expected 2 arguments, got 1");
  functionError(() => callFunction(echo([1, Infinity]), [], scope), "expected at least 1 argument, got 0");
  functionError(() => callFunction(echo([2, 3]), [1, 2, 3, 4], scope), "expected 2 to 3 arguments, got 4");
});

test("reads arguments with Alloy's conversions: a number where a string is expected", () => {
  const args = new FunctionArguments(["a", 4040, [1, "b"], true]);
  assert.equal(args.string(0), "a");
  assert.equal(args.string(1), "4040");
  assert.deepEqual(args.list(2), [1, "b"]);
  assert.deepEqual(args.strings(2), ["1", "b"]);
  assert.deepEqual(args.rest(2), [[1, "b"], true]);
});

test("names the argument, and the item, that has the wrong type", () => {
  const args = new FunctionArguments([true, [null], "x", new ComponentReference(["a", "b"])]);
  functionError(() => args.string(0), "argument 1: expected string, got bool", 0);
  functionError(() => args.strings(1), "argument 2[0]: expected string, got null", 1);
  functionError(() => args.list(2), "argument 3: expected list, got string", 2);
  functionError(() => args.string(3), "argument 4: expected string, got reference", 3);
});
