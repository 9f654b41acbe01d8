import { test } from "node:test";
import assert from "node:assert/strict";
import { cannotEvaluate, ComponentReference } from "./component-reference.js";

test("prints as the dotted name the user wrote", () => {
  const reference = new ComponentReference(["pyroscope", "write", "staging", "receiver"]);
  assert.equal(`${reference}`, "pyroscope.write.staging.receiver");
  assert.deepEqual(reference.path, ["pyroscope", "write", "staging", "receiver"]);
});

test("says why an export cannot be evaluated", () => {
  assert.equal(
    cannotEvaluate(new ComponentReference(["remote", "http", "token", "content"])),
    "remote.http.token.content cannot be evaluated: the relay evaluates no other components than local.file, remote.kubernetes.secret and remote.kubernetes.configmap, and refers to pyroscope.write and pyroscope.relabel receivers only in forward_to (a value from the environment: sys.env)",
  );
});
