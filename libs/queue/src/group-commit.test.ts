import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DeadlinePassedError, GroupCommit } from "./group-commit.js";

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

test("an item still waiting past its deadline is withdrawn, its submitter told at once; one a write carries shares the write's outcome", async () => {
  const { groups, write, open } = gatedWrites();
  const withdrawn: number[] = [];
  const commit = new GroupCommit({ bounds: { maxItems: 1, maxBytes: 1_000 }, sizeOf: () => 1, write, withdrawn: (item) => withdrawn.push(item) });
  // Far enough that no pause of the machine passes it: the test says when it has, below.
  const soon = Date.now() + 60_000;
  const carried = commit.submit(1, soon);
  const first = commit.submit(2);
  const late = [commit.submit(3, soon), commit.submit(4, soon)];
  const last = commit.submit(5);
  await nextTurn();
  assert.deepEqual(groups, [[1], [2]], "two writes in flight, the rest waits");
  commit.withdrawExpired(soon);
  assert.deepEqual(withdrawn, [3, 4], "the expired ones at the head, at once");
  for (const outcome of late) await assert.rejects(outcome, DeadlinePassedError);
  open();
  assert.equal(await carried, "write 1", "a write had it: its outcome is the item's, deadline or not");
  open();
  assert.equal(await first, "write 2");
  await nextTurn();
  open();
  assert.equal(await last, "write 3");
  assert.deepEqual(groups, [[1], [2], [5]], "no write carried the withdrawn items");
});

test("a write that starts withdraws what expired meanwhile first", async () => {
  const { groups, write, open } = gatedWrites();
  const commit = new GroupCommit({ bounds: { maxItems: 1, maxBytes: 1_000 }, sizeOf: () => 1, write });
  const outcomes = [commit.submit(1), commit.submit(2), commit.submit(3, Date.now() + 20), commit.submit(4)];
  const expired = assert.rejects(outcomes[2]!, DeadlinePassedError);
  await nextTurn();
  await sleep(30);
  open();
  await nextTurn();
  assert.deepEqual(groups, [[1], [2], [4]]);
  await expired;
  open();
  open();
  assert.deepEqual(await Promise.all([outcomes[0], outcomes[1], outcomes[3]]), ["write 1", "write 2", "write 3"]);
});

test("bounds that leave no room are refused", () => {
  const write = async () => "";
  assert.throws(() => new GroupCommit({ bounds: { maxItems: 0, maxBytes: 1 }, sizeOf: () => 1, write }), RangeError);
  assert.throws(() => new GroupCommit({ bounds: { maxItems: 1, maxBytes: 0 }, sizeOf: () => 1, write }), RangeError);
});
