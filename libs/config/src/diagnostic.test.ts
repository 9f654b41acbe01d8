import { test } from "node:test";
import assert from "node:assert/strict";
import { compareDiagnostics, describeLocation, diagnosticAt, formatDiagnostic } from "./diagnostic.js";

test("formats a positioned diagnostic as file:line:col: message", () => {
  assert.equal(formatDiagnostic(diagnosticAt("relay.alloy", { line: 3, col: 17 }, "oops")), "relay.alloy:3:17: oops");
});

test("formats a whole-file diagnostic without a position", () => {
  assert.equal(formatDiagnostic({ file: "relay.alloy", line: 0, col: 0, message: "oops" }), "relay.alloy: oops");
});

test("orders diagnostics by file, then line, then column", () => {
  const at = (line: number, col: number, file = "f") => diagnosticAt(file, { line, col }, "");
  assert.deepEqual([at(2, 1), at(1, 9), at(1, 2)].sort(compareDiagnostics), [at(1, 2), at(1, 9), at(2, 1)]);
  assert.deepEqual([at(1, 1, "b"), at(9, 9, "a"), at(0, 0, "a")].sort(compareDiagnostics), [at(0, 0, "a"), at(9, 9, "a"), at(1, 1, "b")]);
});

test("names another file's location with its file", () => {
  assert.equal(describeLocation("a.alloy", { line: 3, col: 1 }, "a.alloy"), "3:1");
  assert.equal(describeLocation("a.alloy", { line: 3, col: 1 }, "b.alloy"), "a.alloy:3:1");
});
