import assert from "node:assert/strict";
import { test } from "node:test";
import { targetConfig } from "./target-config.js";

test("a target writes the label of its component, with fast retries and no auth, and overrides win", () => {
  const target = targetConfig("strict/1");
  assert.equal(target.name, "strict/1");
  assert.equal(target.writeLabel, "strict");
  assert.equal(target.endpointName, "strict/1");
  assert.deepEqual([target.minBackoffMs, target.maxBackoffMs, target.maxBackoffRetries], [20, 50, 10]);
  assert.deepEqual(target.auth, { kind: "none" });
  assert.deepEqual(targetConfig("a", { url: "http://127.0.0.1:9/", maxBackoffRetries: 1 }), {
    ...targetConfig("a"),
    url: "http://127.0.0.1:9/",
    maxBackoffRetries: 1,
  });
});
