import { test } from "node:test";
import assert from "node:assert/strict";
import { ComponentReference } from "./component-reference.js";
import { evaluate, type EvaluationContext } from "./evaluate.js";
import { parseAlloy } from "./parser.js";
import { ValueLocations } from "./value-locations.js";

function evaluateSource(expression: string, env: Record<string, string> = {}) {
  const [statement] = parseAlloy(`value = ${expression}`, "t.alloy").body;
  assert.ok(statement?.kind === "attribute");
  const context: EvaluationContext = { file: "t.alloy", env, locations: new ValueLocations({ line: 1, col: 1 }) };
  return { value: evaluate(statement.value, ["value"], context), locations: context.locations };
}

function evaluationError(expression: string, message: string) {
  assert.throws(() => evaluateSource(expression), { name: "ConfigError", message: `t.alloy:${message}` });
}

test("evaluates literals, lists and objects to plain data", () => {
  const { value } = evaluateSource('[1, "a", true, null, { k = 2, "x y" = [] }]');
  assert.deepEqual(JSON.parse(JSON.stringify(value)), [1, "a", true, null, { k: 2, "x y": [] }]);
});

test("builds objects without a prototype, so any key is an ordinary key", () => {
  const { value } = evaluateSource('{ "__proto__" = 1, constructor = 2 }') as { value: Record<string, unknown> };
  assert.equal(Object.getPrototypeOf(value), null);
  assert.deepEqual(Object.keys(value), ["__proto__", "constructor"]);
});

test("keeps references symbolic", () => {
  const { value } = evaluateSource("pyroscope.write.a.receiver");
  assert.ok(value instanceof ComponentReference);
  assert.deepEqual(value.path, ["pyroscope", "write", "a", "receiver"]);
});

test("reads env() and sys.env(), an unset variable as an empty string", () => {
  const env = { TOKEN: "t" };
  assert.equal(evaluateSource('env("TOKEN")', env).value, "t");
  assert.equal(evaluateSource('sys.env("TOKEN")', env).value, "t");
  assert.equal(evaluateSource('env("UNSET")', env).value, "");
});

test("records where every list item and object field came from", () => {
  const { locations } = evaluateSource('[1, { k = "v" }]');
  assert.deepEqual(locations.get(["value", 0]), { kind: "value", pos: { line: 1, col: 10 }, namePos: { line: 1, col: 10 } });
  assert.deepEqual(locations.get(["value", 1, "k"]), { kind: "value", pos: { line: 1, col: 19 }, namePos: { line: 1, col: 15 } });
});

test("rejects an unknown function", () => {
  evaluationError('file("x")', '1:9: unknown function "file"; supported: env, sys.env');
});

test("rejects a wrong number or type of arguments", () => {
  evaluationError("env()", "1:9: env: expected 1 argument, got 0");
  evaluationError('sys.env("A", "B")', "1:9: sys.env: expected 1 argument, got 2");
  evaluationError("env([])", "1:13: env: expected a string argument, got list");
});

test("rejects a duplicate object key", () => {
  evaluationError("{ a = 1, a = 2 }", '1:18: duplicate key "a"; first set at 1:11');
});
