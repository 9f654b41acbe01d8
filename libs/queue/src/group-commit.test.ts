import assert from "node:assert/strict";
import { test } from "node:test";
import { GroupCommit } from "./group-commit.js";

/** A write that holds until released (in the order the writes went out), recording each group. */
function gatedWrites() {
  const groups: number[][] = [];
  const gates: (() => void)[] = [];
  const write = (items: number[]) => {
    const number = groups.push(items);
    return new Promise<string>((resolve) => gates.push(() => resolve(`write ${number}`)));
  };
  return { groups, write, open: () => gates.shift()?.() };
}

/** Lets the writes scheduled by the submissions of this turn go out. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test("items that arrive while a write is in flight go out together in the next write", async () => {
  const { groups, write, open } = gatedWrites();
  const commit = new GroupCommit({ bounds: { maxItems: 100, maxBytes: 1_000 }, sizeOf: () => 1, write });
  const first = [1, 2, 3].map((n) => commit.submit(n));
  await nextTurn();
  assert.deepEqual(groups, [[1, 2, 3]], "alone, items go out at once");
  const later = [4, 5].map((n) => commit.submit(n));
  await nextTurn();
  assert.equal(groups.length, 1, "fewer items wait than the write in flight carries: they wait for it");
  open();
  assert.deepEqual(await Promise.all(first), ["write 1", "write 1", "write 1"]);
  await nextTurn();
  assert.deepEqual(
    groups,
    [
      [1, 2, 3],
      [4, 5],
    ],
    "the write ended: what waited goes out together",
  );
  open();
  assert.deepEqual(await Promise.all(later), ["write 2", "write 2"]);
});

test("a second write goes out while one is in flight once as many items wait as it carries, never a third", async () => {
  const { groups, write, open } = gatedWrites();
  const commit = new GroupCommit({ bounds: { maxItems: 100, maxBytes: 1_000 }, sizeOf: () => 1, write });
  const all = [commit.submit(1), commit.submit(2)];
  await nextTurn();
  all.push(commit.submit(3));
  await nextTurn();
  assert.deepEqual(groups, [[1, 2]]);
  all.push(commit.submit(4));
  await nextTurn();
  assert.deepEqual(
    groups,
    [
      [1, 2],
      [3, 4],
    ],
    "two wait, as many as the write in flight carries",
  );
  all.push(...[5, 6, 7, 8, 9].map((n) => commit.submit(n)));
  await nextTurn();
  assert.equal(groups.length, 2, "two writes in flight: the rest waits");
  open();
  await all[0];
  await nextTurn();
  assert.deepEqual(groups.at(-1), [5, 6, 7, 8, 9], "one write ended: what waits goes out as the second in flight");
  open();
  open();
  assert.deepEqual(await Promise.all(all), ["write 1", "write 1", "write 2", "write 2", "write 3", "write 3", "write 3", "write 3", "write 3"]);
  await commit.settled();
});

test("settled waits for every write in flight", async () => {
  const { write, open } = gatedWrites();
  const commit = new GroupCommit({ bounds: { maxItems: 100, maxBytes: 1_000 }, sizeOf: () => 1, write });
  void commit.submit(1);
  await nextTurn();
  void commit.submit(2);
  await nextTurn();
  let settled = false;
  const waiting = commit.settled().then(() => (settled = true));
  open();
  await nextTurn();
  assert.equal(settled, false, "the second write is still in flight");
  open();
  await waiting;
  assert.equal(settled, true);
});

test("items submitted in one turn of the event loop share a write", async () => {
  const { groups, write, open } = gatedWrites();
  const commit = new GroupCommit({ bounds: { maxItems: 100, maxBytes: 1_000 }, sizeOf: () => 1, write });
  const all = [1, 2, 3].map((n) => commit.submit(n));
  await nextTurn();
  open();
  await Promise.all(all);
  assert.deepEqual(groups, [[1, 2, 3]]);
});

test("a write carries at most maxItems items and maxBytes bytes, but always one item", async () => {
  const { groups, write, open } = gatedWrites();
  const commit = new GroupCommit({ bounds: { maxItems: 2, maxBytes: 10 }, sizeOf: (n: number) => n, write });
  const all = [1, 1, 1, 4, 8, 50, 1].map((n) => commit.submit(n));
  for (let i = 0; i < 5; i++) {
    await nextTurn();
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

test("an item whose submitter gives up while it waits leaves the queue; one a write carries shares the write's outcome", async () => {
  const { groups, write, open } = gatedWrites();
  const commit = new GroupCommit({ bounds: { maxItems: 1, maxBytes: 1_000 }, sizeOf: () => 1, write });
  const gaveUp = new AbortController();
  const carried = commit.submit(1, gaveUp.signal);
  const first = commit.submit(2);
  const waiting = new AbortController();
  const withdrawn = commit.submit(3, waiting.signal);
  const last = commit.submit(4);
  await nextTurn();
  assert.deepEqual(groups, [[1], [2]], "two writes in flight, two items wait");
  gaveUp.abort(new Error("too late for 1"));
  waiting.abort(new Error("too late for 3"));
  await assert.rejects(withdrawn, /too late for 3/);
  open();
  assert.equal(await carried, "write 1", "a write had it: its outcome is the item's");
  open();
  assert.equal(await first, "write 2");
  await nextTurn();
  open();
  assert.equal(await last, "write 3");
  assert.deepEqual(groups, [[1], [2], [4]], "no write carried the withdrawn item");
  await assert.rejects(commit.submit(5, waiting.signal), /too late for 3/, "an aborted signal: not queued at all");
  assert.deepEqual(groups, [[1], [2], [4]]);
});

test("bounds that leave no room are refused", () => {
  const write = async () => "";
  assert.throws(() => new GroupCommit({ bounds: { maxItems: 0, maxBytes: 1 }, sizeOf: () => 1, write }), RangeError);
  assert.throws(() => new GroupCommit({ bounds: { maxItems: 1, maxBytes: 0 }, sizeOf: () => 1, write }), RangeError);
});
