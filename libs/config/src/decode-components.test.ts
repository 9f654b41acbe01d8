import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeComponents } from "./decode-components.js";
import { compareDiagnostics, type Diagnostic } from "./diagnostic.js";
import { standInObjects } from "./kubernetes-reads.js";
import { parseAlloy } from "./parser.js";

function decode(...sources: string[]) {
  const diagnostics: Diagnostic[] = [];
  const files = sources.map((source, index) => {
    const file = sources.length === 1 ? "t.alloy" : `${"abc"[index]}.alloy`;
    return { file, alloyFile: parseAlloy(source, file) };
  });
  const { components, ignored } = decodeComponents(files, { env: { X: "x" }, constants: {} }, diagnostics, () => "", standInObjects);
  // In source order, as ConfigError reports them.
  const messages = diagnostics.sort(compareDiagnostics).map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`);
  return { components, ignored, messages };
}

test("decodes each labelled component in order", () => {
  const { components, messages } = decode('pyroscope.write "b" {\n  a = sys.env("X")\n}\npyroscope.receive_http "a" {\n}\n');
  assert.deepEqual(messages, []);
  assert.deepEqual(
    components.map(({ kind, label, file, pos, data }) => ({ kind, label, file, pos, data: { ...data } })),
    [
      { kind: "pyroscope.write", label: "b", file: "t.alloy", pos: { line: 1, col: 1 }, data: { a: "x" } },
      { kind: "pyroscope.receive_http", label: "a", file: "t.alloy", pos: { line: 4, col: 1 }, data: {} },
    ],
  );
  assert.deepEqual(components[0]?.locations.nearest([]).pos, { line: 1, col: 1 });
});

test("the same label may name one component of each kind", () => {
  assert.equal(decode('pyroscope.write "a" {\n}\npyroscope.receive_http "a" {\n}').components.length, 2);
});

test("ignores every other block without evaluating it, labelled or not", () => {
  const { components, ignored, messages } = decode(
    [
      "logging {",
      '  level = sys.env("UNSET") + undefined_thing.value',
      "}",
      'discovery.kubernetes "pods" {',
      '  role = "pod"',
      "}",
      'pyroscope.scrape "default" {',
      "  targets    = discovery.kubernetes.pods.targets[0]",
      "  forward_to = [pyroscope.relabel.x.receiver, no_such_function()]",
      "}",
      'declare "custom" {',
      '  pyroscope.write "inner" {',
      "  }",
      "}",
      'pyroscope.write "w" {',
      "}",
    ].join("\n"),
  );
  assert.deepEqual(messages, []);
  assert.deepEqual(
    components.map((c) => c.label),
    ["w"],
  );
  assert.deepEqual(ignored, [
    { name: "logging", file: "t.alloy", line: 1, col: 1 },
    { name: "discovery.kubernetes", label: "pods", file: "t.alloy", line: 4, col: 1 },
    { name: "pyroscope.scrape", label: "default", file: "t.alloy", line: 7, col: 1 },
    { name: "declare", label: "custom", file: "t.alloy", line: 11, col: 1 },
  ]);
});

test("one block name and label identify one block across files", () => {
  const { components, ignored, messages } = decode(
    'pyroscope.write "w" {\n}\nlogging {\n}\ndiscovery.http "d" {\n}',
    '\npyroscope.write "w" {\n}\nlogging {\n}\ndiscovery.http "d" {\n}\ndiscovery.dns "d" {\n}',
  );
  assert.deepEqual(messages, [
    'b.alloy:2:1: duplicate component pyroscope.write "w"; first defined at a.alloy:1:1',
    "b.alloy:4:1: duplicate block logging; first defined at a.alloy:3:1",
    'b.alloy:6:1: duplicate component discovery.http "d"; first defined at a.alloy:5:1',
  ]);
  assert.deepEqual(
    components.map((c) => `${c.file} ${c.label}`),
    ["a.alloy w"],
  );
  assert.deepEqual(
    ignored.map((c) => `${c.file} ${c.name}`),
    ["a.alloy logging", "a.alloy discovery.http", "b.alloy discovery.dns"],
  );
});

test("leaves out components with problems and reports every problem", () => {
  const { components, ignored, messages } = decode(
    [
      "x = 1",
      'logging "a-b" {\n}',
      "pyroscope.write {\n}",
      'pyroscope.write "1st" {\n}',
      'pyroscope.write "ok" {\n}',
      'pyroscope.write "ok" {\n}',
      'pyroscope.receive_http "bad" {\n  a = 1\n  a = 2\n}',
      'pyroscope.write "l\u00b2" {\n}',
      'pyroscope.write "null" {\n}',
    ].join("\n"),
  );
  assert.deepEqual(
    components.map((c) => c.label),
    ["ok"],
  );
  assert.deepEqual(ignored, []);
  assert.deepEqual(messages, [
    't.alloy:1:1: unexpected attribute "x" outside a component block',
    't.alloy:2:1: invalid label "a-b": use letters, digits and underscores, not starting with a digit',
    't.alloy:4:1: pyroscope.write needs a label, e.g. pyroscope.write "default" { ... }',
    't.alloy:6:1: invalid label "1st": use letters, digits and underscores, not starting with a digit',
    't.alloy:10:1: duplicate component pyroscope.write "ok"; first defined at 8:1',
    't.alloy:14:3: duplicate attribute "a"; first set at 13:3',
    't.alloy:16:1: invalid label "l\u00b2": use letters, digits and underscores, not starting with a digit',
    't.alloy:18:1: invalid label "null": use letters, digits and underscores, not starting with a digit',
  ]);
});

test("a component in a custom component instance carries Alloy's ID of it and of the instance", () => {
  const { components, ignored, messages } = decode(
    'declare "recv" {\n  argument "out" { }\n  pyroscope.receive_http "in" {\n    forward_to = argument.out.value\n  }\n}\nrecv "a" {\n  out = [pyroscope.write.w.receiver]\n}\n',
  );
  assert.deepEqual(messages, []);
  assert.deepEqual(ignored, []);
  assert.deepEqual(
    components.map(({ kind, label, instance, pos }) => ({ kind, label, instance, pos })),
    [{ kind: "pyroscope.receive_http", label: "recv.a/pyroscope.receive_http.in", instance: "recv.a", pos: { line: 3, col: 3 } }],
  );
  assert.deepEqual(String(components[0]?.data["forward_to"]), "pyroscope.write.w.receiver");
});
