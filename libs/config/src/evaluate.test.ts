import { test } from "node:test";
import assert from "node:assert/strict";
import { ComponentReference, whyNotEvaluable } from "./component-reference.js";
import { ConfigError } from "./config-error.js";
import { evaluate, type EvaluationContext } from "./evaluate.js";
import { FunctionError } from "./function-error.js";
import { OperationError } from "./operators.js";
import { parseAlloy } from "./parser.js";
import { ValueLocations } from "./value-locations.js";

const constants = { hostname: "box", os: "linux", arch: "amd64", version: "v0.0.0" };

function evaluateSource(expression: string, env: Record<string, string> = {}) {
  const [statement] = parseAlloy(`value = ${expression}`, "t.alloy").body;
  assert.ok(statement?.kind === "attribute");
  const context: EvaluationContext = { file: "t.alloy", scope: { env, constants }, locations: new ValueLocations({ line: 1, col: 1 }) };
  return { value: evaluate(statement.value, ["value"], context), locations: context.locations };
}

const plain = (expression: string, env?: Record<string, string>) => JSON.parse(JSON.stringify(evaluateSource(expression, env).value));

function evaluationError(expression: string, message: string) {
  assert.throws(() => evaluateSource(expression), { name: "ConfigError", message: `t.alloy:${message}` });
}

test("evaluates literals, lists and objects to plain data", () => {
  assert.deepEqual(plain('[1, "a", true, null, { k = 2, "x y" = [] }]'), [1, "a", true, null, { k: 2, "x y": [] }]);
});

test("builds objects without a prototype, so any key is an ordinary key", () => {
  const { value } = evaluateSource('{ "__proto__" = 1, constructor = 2 }') as { value: Record<string, unknown> };
  assert.equal(Object.getPrototypeOf(value), null);
  assert.deepEqual(Object.keys(value), ["__proto__", "constructor"]);
});

test("keeps a dotted name outside the standard library as a symbolic reference", () => {
  const { value } = evaluateSource("pyroscope.write.a.receiver");
  assert.ok(value instanceof ComponentReference);
  assert.deepEqual(value.path, ["pyroscope", "write", "a", "receiver"]);
  assert.deepEqual((evaluateSource("local").value as ComponentReference).path, ["local"]);
});

test("evaluates operators with Alloy's precedence", () => {
  assert.equal(plain("1 + 2 * 3 - 4"), 3);
  assert.equal(plain("(1 + 2) * 3"), 9);
  assert.equal(plain("2 ^ 3 ^ 2"), 512);
  assert.equal(plain("-2 ^ 2"), 4);
  assert.equal(plain('"http://" + "host" + ":" + "4040"'), "http://host:4040");
  assert.equal(plain("1 < 2 && 2 <= 2 || false"), true);
  assert.equal(plain("!true == false"), true);
  assert.equal(plain('[1, { a = "x" }] == [1, { a = "x" }]'), true);
});

test("keeps Alloy's number kinds through arithmetic: integers divide as integers, floats as floats even when whole", () => {
  assert.deepEqual(
    plain("[3 / 2, 3.0 / 2, 3 / 2.0, -3.0 / 2, (1.0 + 2) / 2, 1e2 / 8, 10 / 4 * 2.0, 7.5 / 2.5 / 2, 010 / 3, 09 / 2]"),
    [1, 1.5, 1.5, -1.5, 1.5, 12.5, 4, 1.5, 2, 4.5],
  );
  assert.equal(plain('string.format("%v", 6.0 / 4)'), "1.5");
  assert.equal(plain('encoding.from_json("1.5") * 2 / 2'), 1.5, "a number from a function that is not whole is a float");
});

test("reads constants, list items and object fields", () => {
  assert.equal(plain("constants.hostname"), "box");
  assert.deepEqual(plain("constants"), constants);
  assert.equal(plain("[10, 20, 30][1 + 1]"), 30);
  assert.equal(plain('{ a = { b = "c" } }.a["b"]'), "c");
  assert.equal(plain('{ a = 1 }["missing"]'), null);
  assert.equal(plain('encoding.from_json("{\\"k\\": [1, 2]}").k[1]'), 2);
});

test("calls standard library functions, deprecated names too", () => {
  const env = { TOKEN: "t" };
  assert.equal(plain('sys.env("TOKEN")', env), "t");
  assert.equal(plain('env("TOKEN")', env), "t");
  assert.equal(plain('string.format("%s-%d", constants.os, 1 + 1)'), "linux-2");
  assert.equal(plain('format("%s", coalesce(sys.env("UNSET"), "fallback"))'), "fallback");
});

test("lets references pass through functions that only move values", () => {
  const { value } = evaluateSource("array.concat([pyroscope.write.a.receiver], [pyroscope.write.b.receiver])");
  assert.deepEqual((value as ComponentReference[]).map(String), ["pyroscope.write.a.receiver", "pyroscope.write.b.receiver"]);
});

test("records where every list item and object field of the value came from, and not of operands", () => {
  const { locations } = evaluateSource('[1, { k = "v" }]');
  assert.deepEqual(locations.get(["value", 0]), { kind: "value", pos: { line: 1, col: 10 }, namePos: { line: 1, col: 10 } });
  assert.deepEqual(locations.get(["value", 1, "k"]), { kind: "value", pos: { line: 1, col: 19 }, namePos: { line: 1, col: 15 } });
  assert.equal(evaluateSource('array.concat(["a"], ["b"])').locations.get(["value", 0]), undefined);
});

test("refuses standard library names that are not values", () => {
  evaluationError("sys.env", "1:9: sys.env is a function: call it, as in sys.env(...)");
  evaluationError("string.nope", "1:9: string.nope does not exist in the standard library");
  evaluationError("coalesce", "1:9: coalesce is a function: call it, as in coalesce(...)");
});

test("refuses to evaluate a component's export", () => {
  evaluationError("remote.http.token.content[0]", `1:9: remote.http.token.content ${whyNotEvaluable}`);
  evaluationError('"a" + remote.http.token.content', `1:15: remote.http.token.content ${whyNotEvaluable}`);
  evaluationError("coalesce(discovery.x.targets).y", `1:9: discovery.x.targets ${whyNotEvaluable}`);
});

test("cuts a fractional list index off toward zero, as Alloy converts it to an integer", () => {
  assert.equal(plain('["a", "b", "c"][1.9]'), "b");
  assert.equal(plain('["a", "b"][-0.5]'), "a");
  assert.equal(plain('["a", "b"][3 / 2.0]'), "b");
});

test("reports bad fields and indexes where they are", () => {
  evaluationError("constants.nope", '1:19: field "nope" does not exist');
  evaluationError("constants.os.name", '1:22: cannot read field "name" of a string');
  evaluationError("[1][1]", "1:13: index 1 is out of range for a list of 1");
  evaluationError('[1]["0"]', "1:13: a list index must be a number, got string");
  evaluationError("[1, 2][2.5]", "1:16: index 2 is out of range for a list of 2");
  evaluationError("[1, 2][-1]", "1:16: index -1 is out of range for a list of 2");
  evaluationError("{ a = 1 }[0]", "1:19: an object key must be a string, got number");
  evaluationError('"text"[0]', "1:9: cannot index a string; expected a list or an object");
});

test("reports operator errors at the operand at fault, with the cause", () => {
  evaluationError('1 + "a"', '1:13: "+": expected number, got string');
  evaluationError("true + 1", '1:9: "+" needs numbers or strings, got bool');
  evaluationError("-true", '1:10: "-" needs a number, got bool');
  evaluationError("1 / 0", "1:13: division by zero");
  assert.throws(
    () => evaluateSource("!1"),
    (error: unknown) => error instanceof ConfigError && error.cause instanceof OperationError,
  );
});

test("rejects unknown functions and calls of anything else", () => {
  evaluationError('file("x")', '1:9: unknown function "file"');
  evaluationError('pyroscope.relabel.x("y")', '1:9: unknown function "pyroscope.relabel.x"');
  evaluationError('[sys.env][0]("X")', "1:9: only functions of the standard library can be called, by their name");
});

test("reports a function's errors at the argument at fault, naming the function, with the cause", () => {
  evaluationError("env()", "1:9: env: expected 1 argument, got 0");
  evaluationError('sys.env("A", "B")', "1:9: sys.env: expected 1 argument, got 2");
  evaluationError('string.join(["a"], [])', "1:28: string.join: argument 2: expected string, got list");
  assert.throws(
    () => evaluateSource('encoding.from_json("{")'),
    (error: unknown) => error instanceof ConfigError && error.cause instanceof FunctionError,
  );
});

test("a key set twice in an object takes the later value, as Alloy's", () => {
  assert.deepEqual(plain("{ a = 1, b = 0, a = 2 }"), { a: 2, b: 0 });
});
