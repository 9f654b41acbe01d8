import assert from "node:assert/strict";
import { test } from "node:test";
import { SharedChunks } from "./shared-chunks.js";

/** A reader that answers from `stored` and records every call. */
function recordingReader(stored: Record<string, string>) {
  const calls: string[][] = [];
  const read = async (keys: readonly string[]) => {
    calls.push([...keys]);
    return keys.map((key) => (key in stored ? Buffer.from(stored[key]!) : null));
  };
  return { calls, read };
}

test("each target's job of a batch takes the chunks one read fetched, then they go", async () => {
  const shared = new SharedChunks(() => 3, 1_000);
  const { calls, read } = recordingReader({ a: "aaaa", b: "bb" });
  assert.deepEqual((await shared.read(["a", "b"], read)).map(String), ["aaaa", "bb"]);
  assert.deepEqual((await shared.read(["b", "a"], read)).map(String), ["bb", "aaaa"]);
  assert.equal(shared.keptBytes, 6);
  assert.deepEqual((await shared.read(["a"], read)).map(String), ["aaaa"]);
  assert.deepEqual(calls, [["a", "b"]], "one read for three jobs");
  assert.equal(shared.keptBytes, 2, "a went with its third job; b waits for its own");
  await shared.read(["b"], read);
  assert.equal(shared.keptBytes, 0);
  await shared.read(["a"], read);
  assert.deepEqual(calls, [["a", "b"], ["a"]], "gone after its last job: read again");
});

test("a job that comes while the read is under way joins it; only the missing keys are read", async () => {
  const shared = new SharedChunks(() => 2, 1_000);
  const { calls, read } = recordingReader({ a: "a", b: "b" });
  const [first, second] = await Promise.all([shared.read(["a"], read), shared.read(["a", "b"], read)]);
  assert.deepEqual(first.map(String), ["a"]);
  assert.deepEqual(second.map(String), ["a", "b"]);
  assert.deepEqual(calls, [["a"], ["b"]]);
});

test("with one target nothing is kept", async () => {
  const shared = new SharedChunks(() => 1, 1_000);
  const { calls, read } = recordingReader({ a: "aaaa" });
  await shared.read(["a"], read);
  assert.equal(shared.keptBytes, 0);
  await shared.read(["a"], read);
  assert.equal(calls.length, 2);
});

test("a missing chunk and a failed read are not kept: the next job reads again", async () => {
  const shared = new SharedChunks(() => 2, 1_000);
  const { calls, read } = recordingReader({});
  assert.deepEqual(await shared.read(["gone"], read), [null]);
  assert.deepEqual(await shared.read(["gone"], read), [null]);
  assert.equal(calls.length, 2);
  const failing = async () => {
    throw new Error("connection lost");
  };
  await assert.rejects(shared.read(["x"], failing), /connection lost/);
  const { read: working } = recordingReader({ x: "xx" });
  assert.deepEqual((await shared.read(["x"], working)).map(String), ["xx"]);
  assert.equal(shared.keptBytes, 2);
});

test("beyond its bound the least recently used chunks go first; forget drops a deleted batch's chunks", async () => {
  const shared = new SharedChunks(() => 5, 10);
  const { calls, read } = recordingReader({ a: "aaaa", b: "bbbb", c: "cccc" });
  await shared.read(["a"], read);
  await shared.read(["b"], read);
  await shared.read(["a"], read);
  await shared.read(["c"], read);
  assert.equal(shared.keptBytes, 8, "b, least recently used, went");
  await shared.read(["a", "c"], read);
  assert.equal(calls.length, 3);
  await shared.read(["b"], read);
  assert.deepEqual(calls.at(-1), ["b"]);
  shared.forget(["a", "b", "c", "never-read"]);
  assert.equal(shared.keptBytes, 0);
  await shared.read(["a"], read);
  assert.deepEqual(calls.at(-1), ["a"]);
});

test("a key asked twice in one read is read and taken once; a read under way is never evicted", async () => {
  const shared = new SharedChunks(() => 1, 4);
  const { calls, read } = recordingReader({ a: "aaaa", b: "bbbb" });
  assert.deepEqual((await shared.read(["a", "a"], read)).map(String), ["aaaa", "aaaa"]);
  assert.deepEqual(calls, [["a"]]);

  const twoTargets = new SharedChunks(() => 2, 4);
  let finish: (values: (Buffer | null)[]) => void = () => undefined;
  const slow = () => new Promise<(Buffer | null)[]>((resolve) => (finish = resolve));
  const pending = twoTargets.read(["b"], slow);
  await twoTargets.read(["a"], read);
  await twoTargets.read(["a", "c"], read);
  assert.equal(twoTargets.keptBytes, 0, "a went with its second read; c does not exist");
  finish([Buffer.from("bbbb")]);
  assert.deepEqual((await pending).map(String), ["bbbb"]);
  assert.equal(twoTargets.keptBytes, 4);
  const callsBefore = calls.length;
  assert.deepEqual((await twoTargets.read(["b"], read)).map(String), ["bbbb"]);
  assert.equal(calls.length, callsBefore, "b was kept, not read again");
});

test("what is kept is a copy of the chunk alone, not the reply's larger buffer", async () => {
  const shared = new SharedChunks(() => 2, 100_000);
  const replyBuffer = Buffer.alloc(64 * 1024, 1);
  const view = replyBuffer.subarray(1_000, 11_000).fill(7);
  await shared.read(["a"], async () => [view]);
  assert.equal(shared.keptBytes, 10_000);
  const [kept] = await shared.read(["a"], async () => []);
  assert.deepEqual(kept, Buffer.alloc(10_000, 7));
  assert.notEqual(kept!.buffer, replyBuffer.buffer, "a copy, not a view into the reply's buffer");
  assert.equal(shared.keptBytes, 0);
});
