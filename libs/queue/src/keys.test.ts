import assert from "node:assert/strict";
import { test } from "node:test";
import { backlogBytesKey, payloadKey, pendingKey, queueNameFor } from "./keys.js";

/** What Redis Cluster hashes: the first non-empty `{...}` of a key. */
function hashTag(key: string): string | undefined {
  return /\{([^}]+)\}/.exec(key)?.[1];
}

test("a payload and its pending set share one hash tag: the payload id", () => {
  assert.equal(payloadKey("relay", "id-1"), "relay:payload:{id-1}");
  assert.equal(pendingKey("relay", "id-1"), "relay:payload:{id-1}:pending");
  assert.equal(hashTag(pendingKey("relay", "id-1")), "id-1");
});

test("queue names are a hash tag of the target name, without ':'", () => {
  assert.equal(queueNameFor("primary"), "{primary}");
  assert.equal(queueNameFor("multi/0"), "{multi/0}");
  assert.equal(queueNameFor("a:b{c}%"), "{a%3Ab%7Bc%7D%25}");
  assert.notEqual(queueNameFor("a:b"), queueNameFor("a%3Ab"));
  for (const name of ["primary", "multi/0", "a:b{c}%"]) {
    const queue = queueNameFor(name);
    assert.doesNotMatch(queue, /:/);
    assert.equal(hashTag(`relay:${queue}:wait`), hashTag(`relay:${queue}:some-job-id`));
  }
  assert.notEqual(hashTag(`relay:${queueNameFor("a")}:wait`), hashTag(`relay:${queueNameFor("b")}:wait`));
});

test("a target's backlog counter shares its queue's hash tag", () => {
  assert.equal(backlogBytesKey("relay", "multi/0"), "relay:{multi/0}:backlog-bytes");
  assert.equal(hashTag(backlogBytesKey("relay", "a:b")), hashTag(`relay:${queueNameFor("a:b")}:wait`));
});
