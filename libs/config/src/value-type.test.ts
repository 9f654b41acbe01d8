import { test } from "node:test";
import assert from "node:assert/strict";
import { ComponentReference } from "./component-reference.js";
import { blockBody, describeValueType, isObjectValue } from "./value-type.js";

test("names values by Alloy type, never by content", () => {
  const body = Object.defineProperty(Object.create(null), blockBody, { value: true });
  const cases: Array<[unknown, string]> = [
    [undefined, "nothing"],
    [null, "null"],
    [true, "bool"],
    ["s3cret", "string"],
    [42, "number"],
    [[], "list"],
    [[1, body], "list"],
    [{ a: 1 }, "object"],
    [Object.create(null), "object"],
    [new ComponentReference(["a", "b"]), "reference"],
    [body, "block"],
    [[body, body], "block"],
  ];
  for (const [value, name] of cases) assert.equal(describeValueType(value), name);
});

test("tells object values from blocks, lists and references", () => {
  const body = Object.defineProperty(Object.create(null), blockBody, { value: true });
  assert.equal(isObjectValue(Object.create(null)), true);
  for (const value of [body, [], null, "x", new ComponentReference(["a"])]) assert.equal(isObjectValue(value), false);
});
