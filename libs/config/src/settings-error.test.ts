import { test } from "node:test";
import assert from "node:assert/strict";
import { SettingsError } from "./settings-error.js";

test("names the setting at fault and keeps the cause", () => {
  const cause = new Error("inner");
  const error = new SettingsError("--writer.concurrency", "expected a whole number", { cause });
  assert.ok(error instanceof Error);
  assert.equal(error.name, "SettingsError");
  assert.equal(error.setting, "--writer.concurrency");
  assert.equal(error.message, "--writer.concurrency: expected a whole number");
  assert.equal(error.cause, cause);
});
