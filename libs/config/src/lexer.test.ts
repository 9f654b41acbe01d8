import { test } from "node:test";
import assert from "node:assert/strict";
import { tokenize } from "./lexer.js";
import type { Token } from "./token.js";

function summary(tokens: Token[]): string[] {
  return tokens.map((token) => {
    switch (token.kind) {
      case "identifier":
        return `id:${token.name}`;
      case "string":
        return `str:${token.value}`;
      case "number":
        return `num:${token.value}`;
      case "punctuation":
        return token.symbol;
      case "eof":
        return "eof";
    }
  });
}

function lexError(source: string, message: string) {
  assert.throws(() => tokenize(source, "t.alloy"), { name: "ConfigError", message: `t.alloy:${message}` });
}

test("reads identifiers, punctuation, numbers and strings", () => {
  const tokens = tokenize('pyroscope.write "a" { port = [1, 2.5, 3e2, 1.5E-1] }', "t.alloy");
  assert.deepEqual(summary(tokens), [
    "id:pyroscope",
    ".",
    "id:write",
    "str:a",
    "{",
    "id:port",
    "=",
    "[",
    "num:1",
    ",",
    "num:2.5",
    ",",
    "num:300",
    ",",
    "num:0.15",
    "]",
    "}",
    "eof",
  ]);
});

test("skips line and block comments", () => {
  const tokens = tokenize("// heading\na /* inline */ = /* multi\nline */ 1 // trailing", "t.alloy");
  assert.deepEqual(summary(tokens), ["id:a", "=", "num:1", "eof"]);
  assert.equal(tokens[2]?.newlineBefore, true, "a newline inside a block comment still ends the line");
});

test("records 1-based line and column of each token, counting characters", () => {
  const tokens = tokenize('a = "µ"\n  b = 2', "t.alloy");
  assert.deepEqual(
    tokens.map((t) => [t.pos.line, t.pos.col]),
    [
      [1, 1],
      [1, 3],
      [1, 5],
      [2, 3],
      [2, 5],
      [2, 7],
      [2, 8],
    ],
  );
  assert.deepEqual(
    tokens.map((t) => t.newlineBefore),
    [true, false, false, true, false, false, false],
  );
});

test("ignores a byte order mark and CRLF line ends", () => {
  const tokens = tokenize("\ufeffa = 1\r\nb = 2\r\n", "t.alloy");
  assert.deepEqual(summary(tokens), ["id:a", "=", "num:1", "id:b", "=", "num:2", "eof"]);
  assert.deepEqual(tokens[0]?.pos, { line: 1, col: 1 });
});

test("counts a character outside the BMP as one column", () => {
  const tokens = tokenize('"😀" x', "t.alloy");
  assert.deepEqual(tokens[1]?.pos, { line: 1, col: 5 });
});

test("decodes string escapes", () => {
  const [token] = tokenize(String.raw`"a\n\t\"\\\u00e9\U0001F600\x41\101\a\b\f\r\v"`, "t.alloy");
  assert.deepEqual(token && token.kind === "string" && token.value, 'a\n\t"\\é😀AA\x07\b\f\r\v');
});

test("reads \\x and octal escapes as bytes of UTF-8, as Go does", () => {
  const [token] = tokenize(String.raw`"caf\xc3\xa9 \303\251t\xe2\x82\xac!"`, "t.alloy");
  assert.deepEqual(token && token.kind === "string" && token.value, "café ét€!");
});

test("keeps raw strings verbatim, across lines, but for carriage returns, which Go drops", () => {
  const [token] = tokenize("`C:\\path\\n\nnext`", "t.alloy");
  assert.deepEqual(token && token.kind === "string" && token.value, "C:\\path\\n\nnext");
  const [crlf] = tokenize("`-----BEGIN\r\nabc\r\n-----END`", "t.alloy");
  assert.deepEqual(crlf && crlf.kind === "string" && crlf.value, "-----BEGIN\nabc\n-----END");
});

test("reads unicode identifiers and underscores", () => {
  assert.deepEqual(summary(tokenize("_é1 x_2", "t.alloy")), ["id:_é1", "id:x_2", "eof"]);
});

test("reads operators, the longest first", () => {
  assert.deepEqual(summary(tokenize("||&&!==!=<<=>>=+-*/%^.5 !x", "t.alloy")), [
    "||",
    "&&",
    "!=",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "num:0.5",
    "!",
    "id:x",
    "eof",
  ]);
});

test("rejects an unexpected character", () => {
  lexError("a = 1 @", '1:7: unexpected character "@"');
  lexError("a = b | c", '1:7: unexpected character "|"; did you mean "||"?');
  lexError("a = b & c", '1:7: unexpected character "&"; did you mean "&&"?');
});

test("rejects an unterminated string at its opening quote", () => {
  lexError('a = "open\n"', "1:5: unterminated string");
  lexError('a = "open', "1:5: unterminated string");
});

test("rejects an unterminated raw string", () => {
  lexError("\n a = `open", "2:6: unterminated raw string");
});

test("rejects an unterminated block comment", () => {
  lexError("a = 1 /* never closed", "1:7: unterminated block comment");
});

test("rejects an unknown escape sequence", () => {
  lexError(String.raw`a = "x\q"`, '1:7: invalid escape sequence "\\q" in string');
});

test("rejects short or invalid code point escapes", () => {
  lexError(String.raw`a = "\u12"`, "1:6: invalid escape sequence in string: expected 4 digits");
  lexError(String.raw`a = "\ud800"`, "1:6: invalid escape sequence in string: d800 is not a valid character");
  lexError(String.raw`a = "\U00110000"`, "1:6: invalid escape sequence in string: 00110000 is not a valid character");
  lexError(String.raw`a = "\400"`, "1:6: invalid escape sequence in string: 400 is not a valid character");
});

test("rejects an unquoted duration with a hint", () => {
  lexError("timeout = 10s", '1:11: invalid number "10s"; durations and other text must be quoted');
});

test("reads an integer with a leading zero as octal, as Alloy does; with an 8 or 9 in it, as decimal", () => {
  assert.deepEqual(
    summary(tokenize("a = [010, 0, 00, 0777, 09, 010.5, 010e1]", "t.alloy")).filter((token) => token.startsWith("num:")),
    ["num:8", "num:0", "num:0", "num:511", "num:9", "num:10.5", "num:100"],
  );
  const last = (source: string) => summary(tokenize(source, "t.alloy")).at(-2);
  assert.equal(last("a = 0777777777777777777777777"), "num:7.777777777777778e+23", "past uint64: decimal, as Go's ParseFloat reads it");
});

test("reads a number ending in a dot as a float, as Alloy's scanner does", () => {
  assert.deepEqual(
    summary(tokenize("a = [1., 010., 1.e3]", "t.alloy")).filter((token) => token.startsWith("num:")),
    ["num:1", "num:10", "num:1000"],
  );
  const [number] = tokenize("a = 1.", "t.alloy").filter((token) => token.kind === "number");
  assert.equal(number?.kind === "number" && number.float, true);
});

test("rejects a number too large to represent", () => {
  lexError("n = 1e999", "1:5: number 1e999 is out of range");
});
