import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../usage-error.js";
import { commandNamed, findCommand } from "./command-name.js";

test("finds a command by its name", () => {
  assert.equal(findCommand("replay"), "replay");
  assert.equal(commandNamed("check"), "check");
  assert.equal(findCommand("Replay"), undefined);
  assert.equal(findCommand(undefined), undefined);
});

test("refuses an unknown command, and a flag where the command belongs", () => {
  assert.throws(
    () => commandNamed("frobnicate"),
    (error: unknown) => error instanceof UsageError && error.message === 'unknown command "frobnicate"',
  );
  assert.throws(
    () => commandNamed("--redis.url=x"),
    (error: unknown) => error instanceof UsageError && error.message === "--redis.url=x: unknown flag (the command comes first)",
  );
});
