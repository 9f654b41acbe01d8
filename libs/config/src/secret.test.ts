import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { Secret } from "./secret.js";

test("shows (secret) however it is printed, logged or serialized, and gives its text only when asked", () => {
  const secret = new Secret("hunter2");
  assert.equal(secret.reveal(), "hunter2");
  assert.equal(`${secret}`, "(secret)");
  assert.equal(JSON.stringify({ password: secret }), '{"password":"(secret)"}');
  assert.equal(inspect({ password: secret }), "{ password: (secret) }");
  assert.ok(!inspect(secret, { showHidden: true, depth: 5 }).includes("hunter2"));
});
