import { test } from "node:test";
import assert from "node:assert/strict";
import { ComponentReference } from "./component-reference.js";
import { binaryOperation, OperationError, unaryOperation } from "./operators.js";
import { Secret } from "./secret.js";

const object = (fields: Record<string, unknown>) => Object.assign(Object.create(null), fields);

function operationError(run: () => unknown, message: string, operand: "left" | "right") {
  assert.throws(run, (error: unknown) => error instanceof OperationError && error.message === message && error.operand === operand);
}

test("computes with numbers as Alloy does: whole numbers divide as integers", () => {
  assert.equal(binaryOperation("+", 1, 2), 3);
  assert.equal(binaryOperation("-", 1, 2), -1);
  assert.equal(binaryOperation("*", 3, 4), 12);
  assert.equal(binaryOperation("/", 7, 2), 3);
  assert.equal(binaryOperation("/", -7, 2), -3);
  assert.equal(binaryOperation("/", 7.5, 2), 3.75);
  assert.equal(binaryOperation("/", 6, 4, true), 1.5, "whole floats divide as floats");
  assert.equal(binaryOperation("^", 10, -2), 10, "Alloy's integer power leaves the base for a negative exponent");
  assert.equal(binaryOperation("^", 0, -1), 0);
  assert.equal(binaryOperation("^", 1, -3), 1);
  assert.equal(binaryOperation("^", 10, -2, true), 0.01);
  assert.equal(binaryOperation("%", 7, 3), 1);
  assert.equal(binaryOperation("^", 2, 10), 1024);
  assert.equal(unaryOperation("-", 5), -5);
});

test("joins and compares strings, compares numbers, combines bools", () => {
  assert.equal(binaryOperation("+", "a", "b"), "ab");
  assert.equal(binaryOperation("<", "a", "b"), true);
  assert.equal(binaryOperation(">=", "a", "b"), false);
  assert.equal(binaryOperation("<=", 2, 2), true);
  assert.equal(binaryOperation(">", 3, 2), true);
  assert.equal(binaryOperation("||", false, true), true);
  assert.equal(binaryOperation("&&", true, false), false);
  assert.equal(unaryOperation("!", false), true);
});

test("compares any two values, lists and objects item by item", () => {
  assert.equal(binaryOperation("==", 1, "1"), false);
  assert.equal(binaryOperation("!=", null, null), false);
  assert.equal(binaryOperation("==", [1, [2]], [1, [2]]), true);
  assert.equal(binaryOperation("==", [1], [1, 2]), false);
  assert.equal(binaryOperation("==", object({ a: 1, b: [true] }), object({ b: [true], a: 1 })), true);
  assert.equal(binaryOperation("==", object({ a: 1 }), object({ b: 1 })), false);
  assert.equal(binaryOperation("==", object({ a: 1 }), object({ a: 1, b: 2 })), false);
});

test("refuses operands of the wrong type, naming the one at fault", () => {
  operationError(() => binaryOperation("+", true, 1), '"+" needs numbers or strings, got bool', "left");
  operationError(() => binaryOperation("-", 1, "1"), '"-" needs numbers, got string', "right");
  operationError(() => binaryOperation("+", 1, "1"), '"+": expected number, got string', "right");
  operationError(() => binaryOperation("&&", true, null), '"&&" needs bools, got null', "right");
  operationError(() => unaryOperation("!", 1), '"!" needs a bool, got number', "right");
  operationError(() => unaryOperation("-", "1"), '"-" needs a number, got string', "right");
});

test("refuses division by zero, results out of range and references", () => {
  operationError(() => binaryOperation("/", 1, 0), "division by zero", "right");
  operationError(() => binaryOperation("%", 1, 0), "division by zero", "right");
  operationError(() => binaryOperation("*", 1e308, 10), 'the result of "*" is out of range', "right");
  const reference = new ComponentReference(["remote", "http", "a", "content"]);
  const message = `remote.http.a.content cannot be evaluated: the relay evaluates no other components than local.file, remote.kubernetes.secret and remote.kubernetes.configmap, and refers to pyroscope.write and pyroscope.relabel receivers only in forward_to (a value from the environment: sys.env)`;
  operationError(() => binaryOperation("==", reference, reference), message, "left");
  operationError(() => binaryOperation("+", "x", reference), message, "right");
  operationError(() => unaryOperation("!", reference), message, "right");
});

test("joins strings and secrets into a secret, compares secrets by their text, and does nothing else with them", () => {
  const joined = (left: unknown, right: unknown) => {
    const value = binaryOperation("+", left, right);
    assert.ok(value instanceof Secret);
    return value.reveal();
  };
  assert.equal(joined("Bearer ", new Secret("t")), "Bearer t");
  assert.equal(joined(new Secret("t"), "!"), "t!");
  assert.equal(joined(new Secret("a"), new Secret("b")), "ab");
  assert.equal(binaryOperation("==", new Secret("a"), new Secret("a")), true);
  assert.equal(binaryOperation("!=", new Secret("a"), new Secret("b")), true);
  assert.equal(binaryOperation("==", new Secret("a"), "a"), false, "a secret is never a string");
  operationError(() => binaryOperation("+", new Secret("a"), 1), '"+" joins a secret with strings or secrets only, got number', "right");
  operationError(() => binaryOperation("<", new Secret("a"), "b"), '"<" needs numbers or strings, got secret', "left");
});
