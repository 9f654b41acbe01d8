import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Slots } from "./slots.js";

test("runs at most `size` pieces of work at once, in the order they came", async () => {
  const slots = new Slots(2);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  await Promise.all(
    [1, 2, 3, 4, 5].map((n) =>
      slots.run(async () => {
        started.push(n);
        running++;
        most = Math.max(most, running);
        await sleep(5);
        running--;
      }),
    ),
  );
  assert.equal(most, 2);
  assert.deepEqual(started, [1, 2, 3, 4, 5]);
});

test("a failing piece of work frees its slot", async () => {
  const slots = new Slots(1);
  await assert.rejects(
    slots.run(async () => Promise.reject(new Error("boom"))),
    /boom/,
  );
  assert.equal(await slots.run(async () => "next"), "next");
  assert.throws(() => new Slots(0), RangeError);
});

test("whenFree resolves at once with a slot free, else once one is freed and nobody waits for it", async () => {
  const slots = new Slots(2);
  await slots.whenFree();
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const busy = [slots.run(() => held), slots.run(() => held), slots.run(async () => undefined)];
  let free = false;
  const watched = slots.whenFree().then(() => (free = true));
  await sleep(5);
  assert.equal(free, false, "both slots busy, one more waiting");
  release();
  await Promise.all(busy);
  await watched;
  assert.equal(free, true);
});
