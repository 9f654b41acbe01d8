import { test } from "node:test";
import assert from "node:assert/strict";
import type { Expression } from "./ast.js";
import { parseAlloy } from "./parser.js";

function syntaxError(source: string, message: string) {
  assert.throws(() => parseAlloy(source, "t.alloy"), { name: "ConfigError", message: `t.alloy:${message}` });
}

test("parses labelled and unlabelled blocks with attributes", () => {
  const file = parseAlloy('pyroscope.write "staging" {\n  endpoint {\n    url = "http://x"\n  }\n}\n', "t.alloy");
  assert.deepEqual(file, {
    body: [
      {
        kind: "block",
        name: "pyroscope.write",
        label: "staging",
        pos: { line: 1, col: 1 },
        body: [
          {
            kind: "block",
            name: "endpoint",
            pos: { line: 2, col: 3 },
            body: [
              {
                kind: "attribute",
                name: "url",
                pos: { line: 3, col: 5 },
                value: { kind: "string", value: "http://x", pos: { line: 3, col: 11 } },
              },
            ],
          },
        ],
      },
    ],
  });
});

test("parses every kind of value", () => {
  const file = parseAlloy(
    'a = [1, "s", true, false, null, pyroscope.write.x.receiver, env("X"), sys.env("Y"),]\n' +
      'b = {\n  key = 1,\n  "quoted key" = { inner = [] },\n}\nc = { x = 1, y = 2, }\nd = {}',
    "t.alloy",
  );
  const [a, b, c, d] = file.body;
  assert.equal(a?.kind, "attribute");
  assert.deepEqual(a.kind === "attribute" && a.value, {
    kind: "list",
    pos: { line: 1, col: 5 },
    items: [
      { kind: "number", value: 1, float: false, pos: { line: 1, col: 6 } },
      { kind: "string", value: "s", pos: { line: 1, col: 9 } },
      { kind: "bool", value: true, pos: { line: 1, col: 14 } },
      { kind: "bool", value: false, pos: { line: 1, col: 20 } },
      { kind: "null", pos: { line: 1, col: 27 } },
      {
        kind: "access",
        value: {
          kind: "access",
          value: {
            kind: "access",
            value: { kind: "identifier", name: "pyroscope", pos: { line: 1, col: 33 } },
            name: "write",
            namePos: { line: 1, col: 43 },
            pos: { line: 1, col: 33 },
          },
          name: "x",
          namePos: { line: 1, col: 49 },
          pos: { line: 1, col: 33 },
        },
        name: "receiver",
        namePos: { line: 1, col: 51 },
        pos: { line: 1, col: 33 },
      },
      {
        kind: "call",
        callee: { kind: "identifier", name: "env", pos: { line: 1, col: 61 } },
        args: [{ kind: "string", value: "X", pos: { line: 1, col: 65 } }],
        pos: { line: 1, col: 61 },
      },
      {
        kind: "call",
        callee: {
          kind: "access",
          value: { kind: "identifier", name: "sys", pos: { line: 1, col: 71 } },
          name: "env",
          namePos: { line: 1, col: 75 },
          pos: { line: 1, col: 71 },
        },
        args: [{ kind: "string", value: "Y", pos: { line: 1, col: 79 } }],
        pos: { line: 1, col: 71 },
      },
    ],
  });
  assert.deepEqual(b?.kind === "attribute" && b.value, {
    kind: "object",
    pos: { line: 2, col: 5 },
    fields: [
      { key: "key", keyPos: { line: 3, col: 3 }, value: { kind: "number", value: 1, float: false, pos: { line: 3, col: 9 } } },
      {
        key: "quoted key",
        keyPos: { line: 4, col: 3 },
        value: {
          kind: "object",
          pos: { line: 4, col: 18 },
          fields: [{ key: "inner", keyPos: { line: 4, col: 20 }, value: { kind: "list", items: [], pos: { line: 4, col: 28 } } }],
        },
      },
    ],
  });
  assert.deepEqual(c?.kind === "attribute" && c.value.kind === "object" && c.value.fields.map((f) => f.key), ["x", "y"]);
  assert.deepEqual(d?.kind === "attribute" && d.value, { kind: "object", fields: [], pos: { line: 7, col: 5 } });
});

/** An expression's tree as nested text, to check precedence and grouping. */
function shape(source: string): string {
  const [statement] = parseAlloy(`v = ${source}`, "t.alloy").body;
  assert.ok(statement?.kind === "attribute");
  const show = (e: Expression): string => {
    switch (e.kind) {
      case "binary":
        return `(${show(e.left)} ${e.operator} ${show(e.right)})`;
      case "unary":
        return `(${e.operator}${show(e.operand)})`;
      case "identifier":
        return e.name;
      case "access":
        return `${show(e.value)}.${e.name}`;
      case "index":
        return `${show(e.value)}[${show(e.index)}]`;
      case "call":
        return `${show(e.callee)}(${e.args.map(show).join(", ")})`;
      case "number":
        return String(e.value);
      default:
        return e.kind;
    }
  };
  return show(statement.value);
}

test("parses operators with Alloy's precedence and associativity", () => {
  assert.equal(shape("a || b && c == d + e * f ^ g"), "(a || (b && (c == (d + (e * (f ^ g))))))");
  assert.equal(shape("1 - 2 - 3"), "((1 - 2) - 3)");
  assert.equal(shape("2 ^ 3 ^ 4"), "(2 ^ (3 ^ 4))");
  assert.equal(shape("-a ^ 2"), "((-a) ^ 2)");
  assert.equal(shape("!a == b"), "((!a) == b)");
  assert.equal(shape("(1 + 2) * 3"), "((1 + 2) * 3)");
  assert.equal(shape("1 < 2 != 3 >= 4"), "(((1 < 2) != 3) >= 4)");
  assert.equal(shape("a % b / c"), "((a % b) / c)");
});

test("parses field access, indexes and calls on any value", () => {
  assert.equal(shape("encoding.from_json(x).items[0].name"), "encoding.from_json(x).items[0].name");
  assert.equal(shape("f(a, b + 1,)(2)"), "f(a, (b + 1))(2)");
  assert.equal(shape("[1][0]"), "list[0]");
});

test("an operator or postfix at the start of the next line does not continue the expression", () => {
  syntaxError("a = 1\n+ 2", '2:1: expected a block or attribute, got "+"');
  syntaxError("a = b\n[0]", '2:1: expected a block or attribute, got "["');
  const file = parseAlloy("a = 1 +\n  2\nb = [\n  1,\n  2,\n]", "t.alloy");
  assert.deepEqual(
    file.body.map((s) => s.name),
    ["a", "b"],
  );
});

test("needs a comma after every item followed by a line break, as Alloy does: the last one's too", () => {
  const missing = (what: string, at: string) => `${at}: missing "," after this ${what}: Alloy needs one at the end of the line`;
  // Alloy's own testdata (syntax/parser/testdata/commas.alloy) puts the error just after the item.
  syntaxError("field = [\n  0,\n  1,\n  2\n]", missing("list element", "4:4"));
  syntaxError("a = {\n  x = 1,\n  y = 2 // last\n}", missing("object field", "3:8"));
  syntaxError("a = {\n  x = 1\n  y = 2,\n}", missing("object field", "2:8"));
  syntaxError('a = env(\n  "X"\n)', missing("function argument", "2:6"));
  syntaxError("a = { x = 1 y = 2 }", '1:13: expected "," or "}" after object field, got identifier y');
  const file = parseAlloy(
    'a = [\n  1,\n  2,\n]\nb = {\n  x = 1,\n}\nc = [1, 2]\nd = { x = 1 }\ne = [\n]\nf = {\n}\ng = env(\n  "X",\n)\nh = [1,\n  2]',
    "t.alloy",
  );
  assert.deepEqual(
    file.body.map((s) => s.name),
    ["a", "b", "c", "d", "e", "f", "g", "h"],
  );
});

test("allows a block on one line", () => {
  const file = parseAlloy("http { listen_port = 1 }\nforward_to = []", "t.alloy");
  assert.deepEqual(
    file.body.map((s) => s.name),
    ["http", "forward_to"],
  );
});

test("accepts an empty file and a file of comments", () => {
  assert.deepEqual(parseAlloy("", "t.alloy"), { body: [] });
  assert.deepEqual(parseAlloy("// nothing\n/* here */\n", "t.alloy"), { body: [] });
});

test("requires a line break between statements", () => {
  syntaxError("a = 1 b = 2", "1:7: expected a line break, got identifier b");
  syntaxError("x {\n}  y {\n}", "2:4: expected a line break, got identifier y");
});

test("requires = or { after a name", () => {
  syntaxError("pyroscope.write 1", '1:17: expected "=" or "{" after pyroscope.write, got number');
  syntaxError('pyroscope.write "a" =', '1:21: expected "{" after the block label, got "="');
});

test("rejects a dotted attribute name", () => {
  syntaxError("a.b = 1", "1:5: attribute name a.b must not contain dots");
});

test("reports an unclosed block at the end of the file", () => {
  syntaxError('pyroscope.write "a" {\n  endpoint {\n', '3:1: expected "}" closing block endpoint, got end of file');
});

test("rejects a stray closing brace", () => {
  syntaxError("a = 1\n}", '2:1: expected a block or attribute, got "}"');
});

test("rejects a statement that does not start with a name", () => {
  syntaxError('"a" = 1', "1:1: expected a block or attribute, got string");
});

test("rejects a missing value", () => {
  syntaxError("a =\n", "2:1: expected a value, got end of file");
  syntaxError("a = ]", '1:5: expected a value, got "]"');
  syntaxError("a = =", '1:5: expected a value, got "="');
});

test("rejects a list without commas", () => {
  syntaxError("a = [1 2]", '1:8: expected "," or "]" after list element, got number');
});

test("rejects bad function calls, references, indexes and groups", () => {
  syntaxError('a = env("X" "Y")', '1:13: expected "," or ")" after function argument, got string');
  syntaxError("a = pyroscope.", "1:15: expected a name, got end of file");
  syntaxError("a = x[1", '1:8: expected "]" after the index, got end of file');
  syntaxError("a = (1 + 2", '1:11: expected ")" closing "(", got end of file');
  syntaxError("a = 1 +", "1:8: expected a value, got end of file");
  syntaxError("a = !", "1:6: expected a value, got end of file");
});

test("rejects malformed objects", () => {
  syntaxError("a = { 1 = 2 }", "1:7: expected an object key, got number");
  syntaxError("a = { k 2 }", '1:9: expected "=" after object key, got number');
  syntaxError("a = { k = 1 j = 2 }", '1:13: expected "," or "}" after object field, got identifier j');
  syntaxError("a = { k = 1", '1:12: expected "," or "}" after object field, got end of file');
  syntaxError("a = { k = 1,", "1:13: expected an object key, got end of file");
});

test("takes block labels and quoted object keys as Alloy does: the text between the quotes", () => {
  const [block] = parseAlloy('pyroscope.write "w\\x41" {\n  a = { "X\\u0041" = 1, `raw` = 2 }\n}', "t.alloy").body;
  assert.ok(block?.kind === "block");
  assert.equal(block.label, "w\\x41", "not unescaped: the label check then refuses it, as Alloy's");
  const [attribute] = block.body;
  assert.ok(attribute?.kind === "attribute" && attribute.value.kind === "object");
  assert.deepEqual(
    attribute.value.fields.map((field) => field.key),
    ["X\\u0041", "raw"],
  );
  syntaxError("pyroscope.write `w` {\n}", "1:17: expected block label to be a double quoted string");
  syntaxError("a = { true = 1 }", "1:7: expected an object key, got identifier true");
  syntaxError("a = { null = 1 }", "1:7: expected an object key, got identifier null");
  syntaxError("null = 1", "1:1: expected a name, got identifier null");
  syntaxError('true "x" {\n}', "1:1: expected a name, got identifier true");
  syntaxError("a = b.false", "1:7: expected a name, got identifier false");
  syntaxError("a\u00b2 = 1", '1:2: unexpected character "\u00b2"');
});

test("reports lexer errors through the parser", () => {
  syntaxError("a = @", '1:5: unexpected character "@"');
});
