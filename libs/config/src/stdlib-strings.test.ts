import { test } from "node:test";
import assert from "node:assert/strict";
import { callFunction } from "./stdlib-function.js";
import { stringFunctions } from "./stdlib-strings.js";

const call = (name: keyof typeof stringFunctions, ...args: unknown[]) => callFunction(stringFunctions[name], args, { env: {}, constants: {} });

test("string functions behave as Alloy's documentation shows", () => {
  assert.equal(call("format", "Hello, %s!", "Ander"), "Hello, Ander!");
  assert.equal(call("join", ["foo", "bar", "baz"], ", "), "foo, bar, baz");
  assert.equal(call("join", [0, 0, 1], ", "), "0, 0, 1");
  assert.equal(call("replace", "1 + 2 + 3", "+", "-"), "1 - 2 - 3");
  assert.deepEqual(call("split", "foo,bar,baz", ","), ["foo", "bar", "baz"]);
  assert.deepEqual(call("split", "", ","), [""]);
  assert.equal(call("to_lower", "HELLO"), "hello");
  assert.equal(call("to_upper", "hello"), "HELLO");
  assert.equal(call("trim", "?!hello?!", "!?"), "hello");
  assert.equal(call("trim", "foobar", "far"), "oob");
  assert.equal(call("trim", "   hello! world.!  ", "! "), "hello! world.");
  assert.equal(call("trim_prefix", "helloworld", "hello"), "world");
  assert.equal(call("trim_prefix", "helloworld", "world"), "helloworld");
  assert.equal(call("trim_suffix", "helloworld", "world"), "hello");
  assert.equal(call("trim_suffix", "helloworld", ""), "helloworld");
  assert.equal(call("trim_space", "  hello\n\n"), "hello");
});

test("treats text literally and works on characters, as Go does", () => {
  assert.equal(call("replace", "a.b", ".", "$&"), "a$&b");
  assert.equal(call("replace", "a😀", "", "-"), "-a-😀-");
  assert.deepEqual(call("split", "a😀", ""), ["a", "😀"]);
  assert.equal(call("trim", "😀x😀", "😀"), "x");
  assert.equal(call("trim_space", "\u00a0\u0085x\ufeff"), "x\ufeff");
});
