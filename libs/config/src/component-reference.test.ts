import { test } from "node:test";
import assert from "node:assert/strict";
import { ComponentReference } from "./component-reference.js";

test("prints as the dotted name the user wrote", () => {
  const reference = new ComponentReference(["pyroscope", "write", "staging", "receiver"]);
  assert.equal(`${reference}`, "pyroscope.write.staging.receiver");
  assert.deepEqual(reference.path, ["pyroscope", "write", "staging", "receiver"]);
});
