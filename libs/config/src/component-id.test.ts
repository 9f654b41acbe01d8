import { test } from "node:test";
import assert from "node:assert/strict";
import { componentId, describeReceiver, inInstance } from "./component-id.js";

test("a component ID is Alloy's: name.label, after the instance's ID", () => {
  assert.equal(componentId(undefined, "pyroscope.receive_http", "default"), "pyroscope.receive_http.default");
  assert.equal(componentId("profiles_receiver.feature", "pyroscope.receive_http", "default"), "profiles_receiver.feature/pyroscope.receive_http.default");
  assert.equal(componentId("outer.x", "logging", undefined), "outer.x/logging");
});

test("a receiver is named by its label at the top level, by its component ID in an instance", () => {
  assert.equal(describeReceiver("default"), 'pyroscope.receive_http "default"');
  assert.equal(describeReceiver("profiles_receiver.feature/pyroscope.receive_http.default"), "profiles_receiver.feature/pyroscope.receive_http.default");
});

test("a diagnostic from an instance names it", () => {
  const diagnostic = { file: "t.alloy", line: 1, col: 2, message: "bad" };
  assert.equal(inInstance(undefined, diagnostic), diagnostic);
  assert.deepEqual(inInstance("a.b", diagnostic), { ...diagnostic, message: "bad (in custom component a.b)" });
});
