import assert from "node:assert/strict";
import { test } from "node:test";
import { randomUUID } from "node:crypto";
import { backlogKey, batchClaimsKey, chunkKey, detachedClaimsKey, detachedProfileKey, queueNameFor, shardOf } from "./keys.js";

/** What Redis Cluster hashes: the first non-empty `{...}` of a key. */
function hashTag(key: string): string | undefined {
  return /\{([^}]+)\}/.exec(key)?.[1];
}

test("every key of a batch shares one hash tag: the batch id", () => {
  assert.equal(chunkKey("relay", "b-1", 0), "relay:batch:{b-1}:chunk:0");
  assert.equal(batchClaimsKey("relay", "b-1"), "relay:batch:{b-1}:claims");
  assert.equal(detachedProfileKey("relay", "b-1", 7), "relay:batch:{b-1}:profile:7");
  assert.equal(detachedClaimsKey("relay", "b-1", 7), "relay:batch:{b-1}:profile:7:claims");
  const tags = [chunkKey("relay", "b-1", 3), batchClaimsKey("relay", "b-1"), detachedProfileKey("relay", "b-1", 7), detachedClaimsKey("relay", "b-1", 7)].map(
    hashTag,
  );
  assert.deepEqual(new Set(tags), new Set(["b-1"]));
  assert.notEqual(hashTag(chunkKey("relay", "b-1", 0)), hashTag(chunkKey("relay", "b-2", 0)));
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
  assert.equal(backlogKey("relay", "multi/0"), "relay:{multi/0}:backlog");
  assert.equal(hashTag(backlogKey("relay", "a:b")), hashTag(`relay:${queueNameFor("a:b")}:wait`));
});

test("queue shards of a target are hash tags of their own, distinct from every other target's", () => {
  assert.equal(queueNameFor("primary", 0), "{primary}");
  assert.equal(queueNameFor("primary", 3), "{primary~3}");
  assert.equal(queueNameFor("a~3"), "{a%7E3}");
  assert.notEqual(queueNameFor("a~3"), queueNameFor("a", 3));
  assert.equal(backlogKey("relay", "primary", 2), "relay:{primary~2}:backlog");
  const tags = new Set([0, 1, 2, 3].map((shard) => hashTag(`relay:${queueNameFor("primary", shard)}:wait`)));
  assert.equal(tags.size, 4);
});

test("a batch's shard follows from its id and batches spread over the shards", () => {
  assert.equal(shardOf("ffffffff-0000-4000-8000-000000000000", 1), 0);
  assert.equal(shardOf("00000007-0000-4000-8000-000000000000", 4), 3);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4_000; i++) counts[shardOf(randomUUID(), 4)]!++;
  for (const count of counts) assert.ok(count > 800 && count < 1_200, `uneven spread: ${counts.join(", ")}`);
});
