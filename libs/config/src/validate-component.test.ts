import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { decodeBody } from "./decode-body.js";
import type { Diagnostic } from "./diagnostic.js";
import { parseAlloy } from "./parser.js";
import { validateComponent } from "./validate-component.js";
import { ValueLocations } from "./value-locations.js";

const schema = z.strictObject({
  port: z.number(),
  enabled: z.boolean().optional(),
  tags: z.array(z.string()).optional(),
  inner: z.array(z.strictObject({ name: z.string(), note: z.string().optional() })).optional(),
  checked: z
    .string()
    .refine((s) => s === "ok", { error: "must be ok" })
    .optional(),
});

function validate(source: string) {
  const diagnostics: Diagnostic[] = [];
  const locations = new ValueLocations({ line: 1, col: 1 });
  const data = decodeBody(parseAlloy(source, "t.alloy").body, [], { file: "t.alloy", scope: { env: {}, constants: {} }, locations }, diagnostics);
  assert.deepEqual(diagnostics, []);
  const result = validateComponent(schema, data, locations, "t.alloy");
  return result.ok ? result.value : result.diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`);
}

test("returns the parsed value when valid", () => {
  assert.deepEqual(validate('port = 1\ninner {\n  name = "a"\n}'), { port: 1, inner: [{ name: "a" }] });
});

test("words type errors the Alloy way, at the value", () => {
  assert.deepEqual(validate('port = "x"\nenabled = 1\ntags = ["a", 2]'), [
    "1:8: port: expected number, got string",
    "2:11: enabled: expected bool, got number",
    "3:14: tags[1]: expected string, got number",
  ]);
});

test("reports a missing attribute at its block", () => {
  assert.deepEqual(validate('port = 1\ninner {\n  note = "n"\n}'), ['2:1: missing required attribute "name"']);
  assert.deepEqual(validate(""), ['1:1: missing required attribute "port"']);
});

test("reports unknown attributes and blocks at their names", () => {
  assert.deepEqual(validate('port = 1\nextra = 2\nmore {\n}\ninner {\n  name = "a"\n  deeper {\n  }\n}'), [
    '7:3: unknown block "deeper"',
    '2:1: unknown attribute "extra"',
    '3:1: unknown block "more"',
  ]);
});

test("reports a block given for an attribute", () => {
  assert.deepEqual(validate("port {\n}"), ['1:1: "port" must be set as an attribute (port = ...), not a block']);
});

test("prefixes the schema's own messages with the attribute", () => {
  assert.deepEqual(validate('port = 1\nchecked = "no"'), ["2:11: checked: must be ok"]);
});
