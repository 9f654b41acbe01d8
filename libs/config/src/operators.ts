import type { BinaryOperator, UnaryOperator } from "./ast.js";
import { cannotEvaluate, ComponentReference } from "./component-reference.js";
import { Secret } from "./secret.js";
import { describeValueType, isObjectValue } from "./value-type.js";

/** An operator refused its operands; `operand` says which one to point at. */
export class OperationError extends Error {
  override readonly name = "OperationError";

  constructor(
    message: string,
    readonly operand: "left" | "right",
  ) {
    super(message);
  }
}

const operandTypes: Record<Exclude<BinaryOperator, "==" | "!=">, readonly string[]> = {
  "||": ["bool"],
  "&&": ["bool"],
  "+": ["number", "string"],
  "-": ["number"],
  "*": ["number"],
  "/": ["number"],
  "%": ["number"],
  "^": ["number"],
  "<": ["number", "string"],
  "<=": ["number", "string"],
  ">": ["number", "string"],
  ">=": ["number", "string"],
};

function checkReference(value: unknown, operand: "left" | "right"): void {
  if (value instanceof ComponentReference) throw new OperationError(cannotEvaluate(value), operand);
}

export function unaryOperation(operator: UnaryOperator, value: unknown): unknown {
  checkReference(value, "right");
  if (operator === "!" && typeof value === "boolean") return !value;
  if (operator === "-" && typeof value === "number") return -value;
  throw new OperationError(`"${operator}" needs a ${operator === "!" ? "bool" : "number"}, got ${describeValueType(value)}`, "right");
}

/**
 * Alloy's binary operators: `==` and `!=` compare any two values; the others need two operands of one
 * type they accept. Like Alloy, `||` and `&&` do not short-circuit, and integers divide as integers:
 * `float` says whether either number is a float (Alloy's number kinds; a whole float divides as a
 * float). A result too large for a number is an error rather than an infinity.
 */
export function binaryOperation(operator: BinaryOperator, left: unknown, right: unknown, float = false): unknown {
  checkReference(left, "left");
  checkReference(right, "right");
  if (operator === "==") return equal(left, right);
  if (operator === "!=") return !equal(left, right);
  if (operator === "+" && (left instanceof Secret || right instanceof Secret)) return new Secret(joinedText(left, "left") + joinedText(right, "right"));

  const allowed = operandTypes[operator];
  const [leftType, rightType] = [describeValueType(left), describeValueType(right)];
  const needs = `"${operator}" needs ${allowed.map((type) => `${type}s`).join(" or ")}`;
  if (!allowed.includes(leftType)) throw new OperationError(`${needs}, got ${leftType}`, "left");
  if (!allowed.includes(rightType)) throw new OperationError(`${needs}, got ${rightType}`, "right");
  if (typeof left === "boolean" && typeof right === "boolean") return operator === "||" ? left || right : left && right;
  if (typeof left === "string" && typeof right === "string") return compare(operator, left, right) ?? left + right;
  if (typeof left === "number" && typeof right === "number") return numberOperation(operator, left, right, float);
  throw new OperationError(`"${operator}": expected ${leftType}, got ${rightType}`, "right");
}

function numberOperation(operator: BinaryOperator, a: number, b: number, float: boolean): number | boolean {
  const compared = compare(operator, a, b);
  if (compared !== undefined) return compared;
  if ((operator === "/" || operator === "%") && b === 0) throw new OperationError("division by zero", "right");
  const result = arithmetic(operator, a, b, float || !Number.isInteger(a) || !Number.isInteger(b));
  if (!Number.isFinite(result)) throw new OperationError(`the result of "${operator}" is out of range`, "right");
  return result;
}

function compare<T extends string | number>(operator: BinaryOperator, a: T, b: T): boolean | undefined {
  switch (operator) {
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
    default:
      return undefined;
  }
}

function arithmetic(operator: BinaryOperator, a: number, b: number, float: boolean): number {
  switch (operator) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      return float ? a / b : Math.trunc(a / b);
    case "%":
      return a % b;
    default:
      // Alloy's integer power (intPow) multiplies `a` by itself `b - 1` times: a negative exponent leaves `a`.
      return float || b >= 0 ? a ** b : a === 1 ? 1 : a;
  }
}

/** As in Alloy, a string joined to a secret (or two secrets) makes a secret. */
function joinedText(value: unknown, operand: "left" | "right"): string {
  if (value instanceof Secret) return value.reveal();
  if (typeof value === "string") return value;
  throw new OperationError(`"+" joins a secret with strings or secrets only, got ${describeValueType(value)}`, operand);
}

/** Values of different types are never equal; lists and objects are equal item by item, secrets by their text. */
function equal(a: unknown, b: unknown): boolean {
  if (a instanceof Secret && b instanceof Secret) return a.reveal() === b.reveal();
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, index) => equal(item, b[index]));
  if (isObjectValue(a) && isObjectValue(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && equal(a[key], b[key]));
  }
  return a === b;
}
