import { test } from "node:test";
import assert from "node:assert/strict";
import { ComponentReference } from "./component-reference.js";
import { FunctionError } from "./function-error.js";
import { callFunction } from "./stdlib-function.js";
import { encodingFunctions } from "./stdlib-encoding.js";

const call = (name: keyof typeof encodingFunctions, ...args: unknown[]) => callFunction(encodingFunctions[name], args, { env: {}, constants: {} });

function encodingError(name: keyof typeof encodingFunctions, argument: unknown, message: string) {
  assert.throws(
    () => call(name, argument),
    (error: unknown) => error instanceof FunctionError && error.message === message && error.argument === 0,
  );
}

test("decodes JSON into Alloy values, objects without a prototype", () => {
  assert.equal(call("from_json", "15"), 15);
  assert.deepEqual(call("from_json", "[1, 2, 3]"), [1, 2, 3]);
  assert.equal(call("from_json", "null"), null);
  const object = call("from_json", '{"key": "value", "__proto__": {"nested": [true]}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(object), null);
  // biome-ignore lint/suspicious/noProto: the test is that a JSON key "__proto__" stays a plain key.
  assert.equal(Object.getPrototypeOf(object["__proto__"]), null);
  assert.deepEqual(JSON.parse(JSON.stringify(object)), { key: "value", ["__proto__"]: { nested: [true] } });
});

test("refuses invalid JSON without quoting it", () => {
  encodingError("from_json", '{"password": hunter2}', "argument 1 is not valid JSON");
  encodingError("from_json", "[1e999]", "argument 1 has a number out of range");
});

test("decodes and encodes base64, standard and URL-safe, padded as Go's", () => {
  assert.equal(call("from_base64", "dGFuZ2VyaW5l"), "tangerine");
  assert.equal(call("from_base64", "Zm9vYmFyMTIzIT8kKiYoKSctPUB+"), "foobar123!?$*&()'-=@~");
  assert.equal(call("from_base64", "dGFu\nZ2VyaW5l"), "tangerine");
  assert.equal(call("from_URLbase64", "c3RyaW5nMTIzIT8kKiYoKSctPUB-"), "string123!?$*&()'-=@~");
  assert.equal(call("to_base64", "string123!?$*&()'-=@~"), "c3RyaW5nMTIzIT8kKiYoKSctPUB+");
  assert.equal(call("to_URLbase64", "string123!?$*&()'-=@~"), "c3RyaW5nMTIzIT8kKiYoKSctPUB-");
  assert.equal(call("to_URLbase64", "a"), "YQ==");
});

test("refuses invalid base64 and bytes that are not text", () => {
  encodingError("from_base64", "dGFuZ2VyaW5", "argument 1 is not valid base64");
  encodingError("from_base64", "c3RyaW5nMTIzIT8kKiYoKSctPUB-", "argument 1 is not valid base64");
  encodingError("from_URLbase64", "Zm9vYmFyMTIzIT8kKiYoKSctPUB+", "argument 1 is not valid base64");
  encodingError("from_base64", "/w==", "the decoded bytes are not UTF-8 text");
});

test("URL-encodes and decodes as Go's url.QueryEscape and QueryUnescape", () => {
  assert.equal(call("url_encode", "string123!?$*&()'-=@~"), "string123%21%3F%24%2A%26%28%29%27-%3D%40~");
  assert.equal(call("url_encode", "a b/é"), "a+b%2F%C3%A9");
  assert.equal(call("url_decode", "string123%21%3F%24%2A%26%28%29%27-%3D%40~"), "string123!?$*&()'-=@~");
  assert.equal(call("url_decode", "a+b%2B%C3%A9"), "a b+é");
  encodingError("url_decode", "100%", "argument 1 is not valid URL encoding");
  encodingError("url_decode", "%zz", "argument 1 is not valid URL encoding");
  encodingError("url_decode", "%ff", "the decoded bytes are not UTF-8 text");
  encodingError("url_encode", "\ud800", "argument 1 is not valid Unicode text");
});

test("encodes an object as Go's JSON: keys sorted, HTML characters escaped", () => {
  const value = call("from_json", '{"b": [1, "x<y"], "a": {"z": null, "y": true}}');
  assert.equal(call("to_json", value), '{"a":{"y":true,"z":null},"b":[1,"x\\u003cy"]}');
  encodingError("to_json", [1], "argument 1: expected object, got list");
  const withReference = Object.assign(Object.create(null), { r: new ComponentReference(["a", "b"]) });
  encodingError("to_json", withReference, "argument 1 holds a reference, which JSON cannot represent");
});
