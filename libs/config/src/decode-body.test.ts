import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeBody } from "./decode-body.js";
import type { Diagnostic } from "./diagnostic.js";
import { parseAlloy } from "./parser.js";
import { ValueLocations } from "./value-locations.js";
import { describeValueType } from "./value-type.js";

function decode(source: string) {
  const diagnostics: Diagnostic[] = [];
  const locations = new ValueLocations({ line: 1, col: 1 });
  const data = decodeBody(parseAlloy(source, "t.alloy").body, [], { file: "t.alloy", scope: { env: {}, constants: {} }, locations }, diagnostics);
  return { data, locations, messages: diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`) };
}

test("decodes attributes to values and blocks to lists of bodies", () => {
  const { data, messages } = decode('a = 1\nendpoint {\n  url = "x"\n}\nendpoint {\n}\n');
  assert.deepEqual(messages, []);
  assert.deepEqual(JSON.parse(JSON.stringify(data)), { a: 1, endpoint: [{ url: "x" }, {}] });
  assert.equal(describeValueType(data.endpoint), "block");
  assert.deepEqual(Object.keys(data), ["a", "endpoint"], "the block marker is not a key");
});

test("records attribute names and values, and each block", () => {
  const { locations } = decode('a = 1\nendpoint {\n  url = "x"\n}\nendpoint {\n}\n');
  assert.deepEqual(locations.get(["a"]), { kind: "attribute", pos: { line: 1, col: 5 }, namePos: { line: 1, col: 1 } });
  assert.deepEqual(locations.get(["endpoint"])?.pos, { line: 2, col: 1 });
  assert.deepEqual(locations.get(["endpoint", 1])?.pos, { line: 5, col: 1 });
  assert.deepEqual(locations.get(["endpoint", 0, "url"])?.pos, { line: 3, col: 9 });
});

test("reports a duplicate attribute at the second one", () => {
  assert.deepEqual(decode("a = 1\na = 2").messages, ['2:1: duplicate attribute "a"; first set at 1:1']);
});

test("reports a name used both as an attribute and as a block", () => {
  assert.deepEqual(decode("a = 1\na {\n}").messages, ['2:1: "a" is already defined as an attribute at 1:1']);
  assert.deepEqual(decode("a {\n}\na = 1").messages, ['3:1: "a" is already defined as a block']);
});

test("reports a label on a nested block", () => {
  assert.deepEqual(decode('http "x" {\n}').messages, ['1:1: block "http" does not take a label']);
});

test("collects evaluation errors and keeps going", () => {
  const { data, messages } = decode('a = nope("x")\nb = 2\nc = env(true)');
  assert.deepEqual(messages, ['1:5: unknown function "nope"', "3:9: env: argument 1: expected string, got bool"]);
  assert.equal(data.b, 2);
});
