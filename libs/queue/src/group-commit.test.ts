import assert from "node:assert/strict";
import { test } from "node:test";
import { GroupCommit } from "./group-commit.js";

/** A write that holds until released, recording each group. */
function gatedWrites() {
  const groups: number[][] = [];
  const gates: (() => void)[] = [];
  const write = (items: number[]) => {
    groups.push(items);
    return new Promise<string>((resolve) => gates.push(() => resolve(`write ${groups.length}`)));
  };
  return { groups, write, open: () => gates.shift()?.() };
}

test("items that arrive while a write is in flight go out together in the next write", async () => {
  const { groups, write, open } = gatedWrites();
  const commit = new GroupCommit({ bounds: { maxItems: 100, maxBytes: 1_000 }, sizeOf: () => 1, write });
  const first = commit.submit(1);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(groups, [[1]], "alone, an item goes out at once");
  const later = [2, 3, 4].map((n) => commit.submit(n));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(groups.length, 1, "nothing more goes out while a write is in flight");
  open();
  assert.equal(await first, "write 1");
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(groups, [[1], [2, 3, 4]]);
  open();
  assert.deepEqual(await Promise.all(later), ["write 2", "write 2", "write 2"]);
});

test("items submitted in one turn of the event loop share a write", async () => {
  const { groups, write, open } = gatedWrites();
  const commit = new GroupCommit({ bounds: { maxItems: 100, maxBytes: 1_000 }, sizeOf: () => 1, write });
  const all = [1, 2, 3].map((n) => commit.submit(n));
  await new Promise((resolve) => setImmediate(resolve));
  open();
  await Promise.all(all);
  assert.deepEqual(groups, [[1, 2, 3]]);
});

test("a write carries at most maxItems items and maxBytes bytes, but always one item", async () => {
  const { groups, write, open } = gatedWrites();
  const commit = new GroupCommit({ bounds: { maxItems: 2, maxBytes: 10 }, sizeOf: (n: number) => n, write });
  const all = [1, 1, 1, 4, 8, 50, 1].map((n) => commit.submit(n));
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    open();
  }
  await Promise.all(all);
  assert.deepEqual(groups, [[1, 1], [1, 4], [8], [50], [1]]);
});

test("a failed write rejects every item it carried, and the next write goes on", async () => {
  let calls = 0;
  const commit = new GroupCommit({
    bounds: { maxItems: 10, maxBytes: 100 },
    sizeOf: () => 1,
    write: async (items: number[]) => {
      calls++;
      if (calls === 1) throw new Error(`flush of ${items.length} failed`);
      return "ok";
    },
  });
  const failed = [commit.submit(1), commit.submit(2)];
  for (const result of await Promise.allSettled(failed)) {
    assert.equal(result.status, "rejected");
    assert.match(String(result.reason), /flush of 2 failed/);
  }
  assert.equal(await commit.submit(3), "ok");
  await commit.settled();
});

test("bounds that leave no room are refused", () => {
  const write = async () => "";
  assert.throws(() => new GroupCommit({ bounds: { maxItems: 0, maxBytes: 1 }, sizeOf: () => 1, write }), RangeError);
  assert.throws(() => new GroupCommit({ bounds: { maxItems: 1, maxBytes: 0 }, sizeOf: () => 1, write }), RangeError);
});
