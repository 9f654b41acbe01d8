import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeComponents } from "./decode-components.js";
import type { Diagnostic } from "./diagnostic.js";
import { parseAlloy } from "./parser.js";

function decode(source: string) {
  const diagnostics: Diagnostic[] = [];
  const components = decodeComponents(parseAlloy(source, "t.alloy"), { file: "t.alloy", env: { X: "x" } }, diagnostics);
  return { components, messages: diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`) };
}

test("decodes each labelled component in order", () => {
  const { components, messages } = decode('pyroscope.write "b" {\n  a = env("X")\n}\npyroscope.receive_http "a" {\n}\n');
  assert.deepEqual(messages, []);
  assert.deepEqual(
    components.map(({ kind, label, pos, data }) => ({ kind, label, pos, data: { ...data } })),
    [
      { kind: "pyroscope.write", label: "b", pos: { line: 1, col: 1 }, data: { a: "x" } },
      { kind: "pyroscope.receive_http", label: "a", pos: { line: 4, col: 1 }, data: {} },
    ],
  );
  assert.deepEqual(components[0]?.locations.nearest([]).pos, { line: 1, col: 1 });
});

test("the same label may name one component of each kind", () => {
  assert.equal(decode('pyroscope.write "a" {\n}\npyroscope.receive_http "a" {\n}').components.length, 2);
});

test("leaves out components with problems and reports every problem", () => {
  const { components, messages } = decode(
    [
      "x = 1",
      'logging "a" {\n}',
      "pyroscope.write {\n}",
      'pyroscope.write "1st" {\n}',
      'pyroscope.write "ok" {\n}',
      'pyroscope.write "ok" {\n}',
      'pyroscope.receive_http "bad" {\n  a = 1\n  a = 2\n}',
    ].join("\n"),
  );
  assert.deepEqual(
    components.map((c) => c.label),
    ["ok"],
  );
  assert.deepEqual(messages, [
    '1:1: unexpected attribute "x" outside a component block',
    '2:1: unknown block "logging"; expected pyroscope.receive_http or pyroscope.write',
    '4:1: pyroscope.write needs a label, e.g. pyroscope.write "default" { ... }',
    '6:1: invalid label "1st": use letters, digits and underscores, not starting with a digit',
    '10:1: duplicate component pyroscope.write "ok"; first defined at 8:1',
    '14:3: duplicate attribute "a"; first set at 13:3',
  ]);
});
