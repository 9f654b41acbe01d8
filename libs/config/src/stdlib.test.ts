import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ComponentReference } from "./component-reference.js";
import { FunctionError } from "./function-error.js";
import { Secret } from "./secret.js";
import { isStdlibName, stdlibFunction } from "./stdlib.js";
import { callFunction } from "./stdlib-function.js";

const scope = { env: { HOME: "/home/alloy", EMPTY: "" }, constants: {} };

function call(name: string, ...args: unknown[]): unknown {
  const fn = stdlibFunction(name);
  assert.ok(fn, `${name} is defined`);
  return callFunction(fn, args, scope);
}

test("sys.env reads the environment, an unset variable as an empty string", () => {
  assert.equal(call("sys.env", "HOME"), "/home/alloy");
  assert.equal(call("sys.env", "DOES_NOT_EXIST"), "");
  assert.equal(call("sys.env", "constructor"), "");
});

test("coalesce returns the first value that is not empty, else the last", () => {
  assert.equal(call("coalesce"), null);
  assert.equal(call("coalesce", "a", "b"), "a");
  assert.equal(call("coalesce", call("sys.env", "DOES_NOT_EXIST"), "c"), "c");
  assert.deepEqual(call("coalesce", [], ["fallback"]), ["fallback"]);
  assert.equal(call("coalesce", 0, 1, 2), 1);
  assert.equal(call("coalesce", false, true), true);
  assert.equal(call("coalesce", Object.create(null), false), false);
  assert.equal(call("coalesce", [], null), null);
  const reference = new ComponentReference(["pyroscope", "write", "a", "receiver"]);
  assert.equal(call("coalesce", null, reference), reference);
});

test("array.concat joins lists and takes nothing but lists", () => {
  assert.deepEqual(call("array.concat"), []);
  assert.deepEqual(call("array.concat", [1, 2], [], [[3], null]), [1, 2, [3], null]);
  assert.throws(() => call("array.concat", [1], "x"), new FunctionError("argument 2: expected list, got string", 1));
});

test("file.path_join and convert.nonsensitive behave as in Alloy", () => {
  assert.equal(call("file.path_join", "this/is", "a/path"), join("this", "is", "a", "path"));
  assert.equal(call("file.path_join"), "");
  assert.equal(call("file.path_join", "a/", "", "b/"), join("a", "b"));
  assert.equal(call("convert.nonsensitive", "secret"), "secret");
  assert.equal(call("convert.nonsensitive", new Secret("s3cret")), "s3cret");
  assert.throws(() => call("string.to_upper", new Secret("s3cret")), {
    message: "argument 1: secrets may not be converted into strings (convert.nonsensitive(...) turns a value that is no secret into one)",
  });
});

test("keeps the deprecated names Alloy still accepts", () => {
  for (const [old, current] of [
    ["env", "sys.env"],
    ["concat", "array.concat"],
    ["json_decode", "encoding.from_json"],
    ["base64_decode", "encoding.from_base64"],
    ["nonsensitive", "convert.nonsensitive"],
    ["format", "string.format"],
    ["trim_space", "string.trim_space"],
  ]) {
    assert.equal(stdlibFunction(old!), stdlibFunction(current!), old);
  }
});

test("names Alloy functions the relay does not implement", () => {
  for (const name of ["encoding.from_yaml", "yaml_decode", "json_path", "array.combine_maps", "array.group_by"]) {
    assert.throws(() => call(name, "x"), new FunctionError("this Alloy function is not supported by pyroscope-relay"), name);
  }
  assert.equal(stdlibFunction("string.nope"), undefined);
  assert.equal(stdlibFunction("string"), undefined);
});

test("tells standard library names from component names", () => {
  for (const name of ["constants", "sys", "string", "encoding", "array", "convert", "file", "coalesce", "env", "json_path"]) {
    assert.equal(isStdlibName(name), true, name);
  }
  for (const name of ["pyroscope", "local", "discovery", "toString", "__proto__"]) assert.equal(isStdlibName(name), false, name);
});
