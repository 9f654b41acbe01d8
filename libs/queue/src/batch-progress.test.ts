import assert from "node:assert/strict";
import { test } from "node:test";
import type { ProfileRef } from "./batch-data.js";
import { BatchProgress } from "./batch-progress.js";

const ingest = (index: number): ProfileRef => ({ kind: "ingest", index, offset: index * 10, size: 10, receivedAt: 1, query: `n=${index}`, contentTypes: [] });
const push = (index: number, series: number): ProfileRef => ({ kind: "push", index, offset: index * 10, size: 10, receivedAt: 1, codec: "proto", series });

test("a profile is pending until every one of its parts is delivered or failed", () => {
  const progress = BatchProgress.restore([ingest(0), push(1, 3), ingest(2)], undefined);
  assert.deepEqual(
    progress.pending().map((ref) => ref.index),
    [0, 1, 2],
  );
  progress.delivered(0, [0]);
  progress.delivered(1, [0, 2]);
  assert.deepEqual(
    progress.pending().map((ref) => ref.index),
    [1, 2],
  );
  assert.deepEqual([...progress.handledParts(1)], [0, 2]);
  progress.failedForGood(1, [1], { reason: "http 400", status: 400, detail: "bad series" });
  assert.deepEqual(
    progress.pending().map((ref) => ref.index),
    [2],
  );
});

test("progress survives a save and restore; unknown indices and junk are ignored", () => {
  const profiles = [ingest(0), push(1, 2)];
  const progress = BatchProgress.restore(profiles, undefined);
  progress.delivered(0, [0]);
  progress.delivered(1, [1]);
  progress.delivered(9, [0]);
  const saved = JSON.parse(JSON.stringify(progress.toJSON())) as unknown;
  assert.deepEqual(saved, { done: "0", handled: { "1": [1] } });
  const restored = BatchProgress.restore(profiles, saved);
  assert.deepEqual(
    restored.pending().map((ref) => ref.index),
    [1],
  );
  assert.deepEqual([...restored.handledParts(1)], [1]);
  for (const junk of [null, 7, "x", { handled: "no" }, { handled: { "0": "no" } }, { done: 0 }, { done: "x,1-0" }]) {
    assert.deepEqual(BatchProgress.restore(profiles, junk).pending().length, 2, JSON.stringify(junk));
  }
});

test("the profiles a batch is done with are saved as ranges of indices, whatever their number", () => {
  const profiles = Array.from({ length: 500 }, (_, index) => (index % 100 === 7 ? push(index, 3) : ingest(index)));
  const progress = BatchProgress.restore(profiles, undefined);
  for (const ref of profiles) if (![250, 251, 407].includes(ref.index)) progress.delivered(ref.index, ref.kind === "push" ? [0, 1, 2] : [0]);
  progress.delivered(251, [0]);
  progress.delivered(407, [1]);
  const saved = JSON.parse(JSON.stringify(progress.toJSON())) as unknown;
  assert.deepEqual(saved, { done: "0-249,251-406,408-499", handled: { "407": [1] } });
  const restored = BatchProgress.restore(profiles, saved);
  assert.deepEqual(
    restored.pending().map((ref) => ref.index),
    [250, 407],
  );
  assert.deepEqual([...restored.handledParts(407)], [1]);
});

test("profiles split off at earlier attempts stay failed across saves: the job's failures count each profile once", () => {
  const profiles = [ingest(0), push(1, 3), ingest(2), ingest(3)];
  const refused = { reason: "http 400", status: 400, detail: "poison" };
  const progress = BatchProgress.restore(profiles, undefined);
  progress.failedForGood(0, [0], refused);
  progress.failedForGood(1, [0], refused);
  progress.delivered(1, [1]);
  progress.clearFailures();
  const saved = JSON.parse(JSON.stringify(progress.toJSON())) as unknown;
  assert.deepEqual(saved, { done: "0", handled: { "1": [0, 1] }, split: "0-1" });
  const restored = BatchProgress.restore(profiles, saved);
  assert.equal(restored.failedProfiles(), 2);
  // Another series of profile 1 fails at a later attempt, and profile 3: three profiles in all.
  restored.failedForGood(1, [2], refused);
  restored.failedForGood(3, [0], refused);
  restored.delivered(2, [0]);
  assert.equal(restored.failedProfiles(), 3);
  assert.equal(BatchProgress.restore(profiles, { split: "x" }).failedProfiles(), 0, "junk counts as none");
});

test("a save of an earlier version, every profile under handled, restores the same", () => {
  const profiles = [ingest(0), push(1, 2), ingest(2)];
  const restored = BatchProgress.restore(profiles, { handled: { "0": [0], "1": [0, 1] } });
  assert.deepEqual(
    restored.pending().map((ref) => ref.index),
    [2],
  );
  assert.deepEqual(restored.toJSON(), { done: "0-1" });
});

test("failures group by kind, status and detail, largest first; a group's profiles say what is not theirs", () => {
  const progress = BatchProgress.restore([ingest(0), ingest(1), push(2, 3), ingest(3)], undefined);
  const bad = { reason: "http 400", status: 400, detail: "bad" };
  const other = { reason: "http 400", status: 400, detail: "other body" };
  progress.failedForGood(0, [0], bad);
  progress.failedForGood(1, [0], bad);
  progress.delivered(2, [0]);
  progress.failedForGood(2, [1], other);
  progress.failedForGood(0, [0], other);
  const groups = progress.failureGroups();
  assert.deepEqual(
    groups.map((group) => [group.failure.detail, group.refs.map((ref) => ref.index)]),
    [
      ["bad", [0, 1]],
      ["other body", [2]],
    ],
  );
  assert.deepEqual(groups[1]!.refs[0], { ...push(2, 3), deliveredParts: [0, 2] }, "series 0 was delivered and 2 is still this batch's");
  assert.equal(groups[0]!.refs[0]!.deliveredParts, undefined, "an /ingest profile that failed whole has nothing else");
  assert.deepEqual(
    progress.pending().map((ref) => ref.index),
    [2, 3],
  );
  progress.clearFailures();
  assert.deepEqual(progress.failureGroups(), []);
  assert.deepEqual(
    progress.pending().map((ref) => ref.index),
    [2, 3],
    "cleared failures stay handled",
  );
});

test("failing what remains fails only the parts not yet handled", () => {
  const progress = BatchProgress.restore([push(0, 3), ingest(1)], undefined);
  progress.delivered(0, [1]);
  progress.failRemaining(progress.pending(), { reason: "timeout", detail: "" });
  const [group] = progress.failureGroups();
  assert.deepEqual(
    group!.refs.map((ref) => [ref.index, ref.deliveredParts]),
    [
      [0, [1]],
      [1, undefined],
    ],
  );
  assert.deepEqual(progress.pending(), []);
});

test("parts a split-off profile arrived with count as handled", () => {
  const progress = BatchProgress.restore([{ ...push(4, 3), deliveredParts: [0, 2] }], undefined);
  assert.deepEqual([...progress.handledParts(4)], [0, 2]);
  progress.delivered(4, [1]);
  assert.deepEqual(progress.pending(), []);
});

test("parts that failed for good are saved as handled only once they are split off", () => {
  const progress = BatchProgress.restore([ingest(0), ingest(1), push(2, 2)], undefined);
  progress.delivered(0, [0]);
  progress.failedForGood(1, [0], { reason: "http 400", status: 400, detail: "bad" });
  progress.delivered(2, [0]);
  progress.failedForGood(2, [1], { reason: "http 400", status: 400, detail: "bad" });
  // A crash now must leave profile 1 and series 1 of profile 2 to the next attempt: no failed job has
  // them yet. Their failure is kept aside, for a job that gets no next attempt.
  assert.deepEqual(progress.toJSON(), {
    done: "0",
    handled: { "2": [0] },
    unsplit: [{ failure: { reason: "http 400", status: 400, detail: "bad" }, parts: { "1": [0], "2": [1] } }],
  });
  progress.clearFailures();
  assert.deepEqual(progress.toJSON(), { done: "0-2", split: "1-2" });
});

test("parts an attempt failed but did not split off fail with that failure when no attempt follows, else are tried again", () => {
  const profiles = [ingest(0), ingest(1), push(2, 2), ingest(3)];
  const bad = { reason: "http 400", status: 400, detail: "bad" };
  const first = BatchProgress.restore(profiles, undefined);
  first.delivered(0, [0]);
  first.failedForGood(1, [0], bad);
  first.failedForGood(2, [1], bad);
  // The attempt ends in an error of the relay's: a next attempt sends them again.
  const second = BatchProgress.restore(profiles, JSON.parse(JSON.stringify(first.toJSON())));
  assert.deepEqual(
    second.pending().map((ref) => ref.index),
    [1, 2, 3],
  );
  second.delivered(2, [0, 1]);
  // That one ends in an error too, before sending the rest: what failed before is still kept aside.
  const third = BatchProgress.restore(profiles, JSON.parse(JSON.stringify(second.toJSON())));
  const error = { reason: "error", detail: "Too many Cluster redirections" };
  third.failRemainingAsBefore(third.pending(), error);
  assert.deepEqual(
    third.failureGroups().map(({ failure, refs }) => [failure.reason, refs.map((ref) => ref.index)]),
    [
      ["http 400", [1]],
      ["error", [3]],
    ],
  );
  // Junk where the failures go is none.
  const junk = BatchProgress.restore(profiles, { unsplit: [{ failure: { reason: "" }, parts: { "1": [0] } }, null, { failure: bad, parts: "1" }] });
  junk.failRemainingAsBefore(junk.pending(), error);
  assert.deepEqual(
    junk.failureGroups().map(({ failure }) => failure.reason),
    ["error"],
  );
});

test("tries are saved as index ranges by their number, for the profiles not done; a save without them counts none", () => {
  const profiles = Array.from({ length: 40 }, (_, index) => (index === 7 ? push(index, 2) : ingest(index)));
  const slow = { reason: "http 429", status: 429, detail: "slow down" };
  const progress = BatchProgress.restore(profiles, { tries: { "1": "0-3", "2": "4-5,39" } });
  assert.deepEqual(
    [0, 4, 6, 39].map((index) => progress.tries(index)),
    [1, 2, 0, 2],
  );
  progress.retried(0, [0], slow);
  progress.retried(6, [0], slow);
  // A Push profile counts one try however many of its series met it.
  progress.retried(7, [0], slow);
  progress.retried(7, [1], slow);
  // Delivered after its tries: they no longer matter.
  progress.delivered(1, [0]);
  progress.retried(99, [0], slow);
  const saved = JSON.parse(JSON.stringify(progress.toJSON())) as unknown;
  assert.deepEqual(saved, { done: "1", tries: { "1": "2-3,6-7", "2": "0,4-5,39" } });
  const restored = BatchProgress.restore(profiles, saved);
  assert.deepEqual(
    [0, 1, 2, 6, 7, 8, 39].map((index) => restored.tries(index)),
    [2, 0, 1, 1, 1, 0, 2],
  );
  assert.equal(BatchProgress.restore(profiles, { done: "0" }).tries(1), 0, "an earlier version's save");
  for (const junk of [{ tries: "1" }, { tries: { "0": "1", "-1": "1", x: "1", "1.5": "1", "2": 1 } }]) {
    assert.equal(BatchProgress.restore(profiles, junk).tries(1), 0, JSON.stringify(junk));
  }
});

test("a replay forgets the tries, and keeps what was delivered", () => {
  const profiles = [ingest(0), ingest(1), ingest(2)];
  const progress = BatchProgress.restore(profiles, { done: "0", tries: { "3": "1-2" } });
  progress.retried(1, [0], { reason: "http 503", status: 503, detail: "" });
  progress.forgetTries();
  assert.deepEqual(progress.toJSON(), { done: "0" });
  assert.deepEqual(
    [1, 2].map((index) => progress.tries(index)),
    [0, 0],
  );
  progress.failExhausted(3, { reason: "error", detail: "" });
  assert.deepEqual(
    progress.pending().map((ref) => ref.index),
    [1, 2],
    "a full budget again",
  );
});

test("a profile tried as often as the budget fails with the last failure it met; the others stay pending", () => {
  const profiles = [ingest(0), ingest(1), ingest(2), ingest(3)];
  const slow = { reason: "http 429", status: 429, detail: "slow down" };
  const busy = { reason: "http 503", status: 503, detail: "busy" };
  const progress = BatchProgress.restore(profiles, { tries: { "2": "0-1" } });
  progress.retried(0, [0], slow);
  progress.retried(0, [0], busy);
  progress.retried(2, [0], slow);
  progress.failExhausted(3, { reason: "error", detail: "unused" });
  assert.deepEqual(
    progress.failureGroups().map(({ failure, refs }) => [failure.detail, refs.map((ref) => ref.index)]),
    [["busy", [0]]],
  );
  assert.deepEqual(
    progress.pending().map((ref) => ref.index),
    [1, 2, 3],
  );
});

test("an attempt that tried some profiles and left others it did not try is cut short", () => {
  const profiles = [ingest(0), ingest(1), push(2, 2)];
  const slow = { reason: "http 429", status: 429, detail: "slow down" };
  const none = BatchProgress.restore(profiles, undefined);
  assert.equal(none.cutShort(), false, "nothing tried: a delivery that reports no tries uses the attempt");
  const some = BatchProgress.restore(profiles, undefined);
  some.retried(0, [0], slow);
  some.delivered(2, [0]);
  assert.equal(some.cutShort(), true, "profile 1, and profile 2's other series, were not sent");
  const all = BatchProgress.restore(profiles, undefined);
  all.retried(0, [0], slow);
  all.delivered(1, [0]);
  all.retried(2, [1], slow);
  all.delivered(2, [0]);
  assert.equal(all.cutShort(), false);
});

test("a profile whose saved tries reached the budget fails at once: with the failure saved for it, else with the one given", () => {
  const profiles = [ingest(0), ingest(1), ingest(2)];
  const busy = { reason: "http 503", status: 503, detail: "busy" };
  const unsaved = { reason: "error", detail: "not saved" };
  const progress = BatchProgress.restore(profiles, { tries: { "3": "0-1", "2": "2" }, unsplit: [{ failure: busy, parts: { "0": [0] } }] });
  progress.failExhausted(3, unsaved);
  assert.deepEqual(
    progress.failureGroups().map(({ failure, refs }) => [failure.detail, refs.map((ref) => ref.index)]),
    [
      ["busy", [0]],
      ["not saved", [1]],
    ],
  );
  assert.deepEqual(
    progress.pending().map((ref) => ref.index),
    [2],
  );
});
