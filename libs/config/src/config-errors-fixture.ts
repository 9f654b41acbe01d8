// Test support: the lines of the ConfigError a configuration `t.alloy` is refused with, for the specs
// of custom components, which read no file.
import assert from "node:assert/strict";
import { ConfigError } from "./config-error.js";
import { parseConfig } from "./parse-config.js";

export function configErrors(source: string): string[] {
  try {
    parseConfig(source, "t.alloy", {});
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message.split("\n");
  }
  assert.fail("expected a ConfigError");
}
