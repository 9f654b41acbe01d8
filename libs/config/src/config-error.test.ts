import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "./config-error.js";

test("lists every diagnostic in source order, one per line", () => {
  const cause = new Error("underlying");
  const error = new ConfigError(
    [
      { file: "a.alloy", line: 7, col: 3, message: "second" },
      { file: "a.alloy", line: 2, col: 5, message: "first" },
    ],
    { cause },
  );
  assert.ok(error instanceof Error);
  assert.equal(error.name, "ConfigError");
  assert.equal(error.message, "a.alloy:2:5: first\na.alloy:7:3: second");
  assert.deepEqual(
    error.diagnostics.map((d) => d.message),
    ["first", "second"],
  );
  assert.equal(error.cause, cause);
});
