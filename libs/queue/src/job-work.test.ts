import assert from "node:assert/strict";
import { test } from "node:test";
import type { BatchSegment, ProfileRef } from "./batch-data.js";
import { JobWork } from "./job-work.js";

const ref = (index: number, query = `n=${index}`): ProfileRef => ({
  kind: "ingest",
  index,
  offset: index * 10,
  size: 10,
  receivedAt: 1,
  query,
  contentTypes: [],
});
const segment = (batch: string, ...indices: number[]): BatchSegment => ({
  batch,
  bytes: 100,
  profiles: indices.map((index) => ref(index, `${batch}.${index}`)),
});

test("a job of one batch keeps the batch's indices, which progress saved by earlier versions is keyed by", () => {
  const work = JobWork.ofBatch({ ...segment("b", 3, 7), detached: true });
  assert.deepEqual(
    work.profiles.map((profile) => profile.index),
    [3, 7],
  );
  assert.equal(work.drain, false);
  assert.equal(work.jobIndex(0, 7), 7);
  assert.deepEqual(work.bySegment([work.profiles[1]!]), [{ segment: work.segments[0], position: 0, refs: [work.profiles[1]] }]);
  assert.throws(() => work.bySegment([ref(0)]), /profile 0 is not in this job/);
  assert.throws(() => work.jobIndex(0, 0), /profile 0 is not in segment 0/);
});

test("a drain job of several batches numbers their profiles itself, and maps them back per batch", () => {
  const work = JobWork.ofDrain([segment("a", 0, 1), segment("b", 0), segment("c", 2, 5)]);
  assert.equal(work.drain, true);
  assert.deepEqual(
    work.profiles.map((profile) => [profile.index, profile.kind === "ingest" && profile.query]),
    [
      [0, "a.0"],
      [1, "a.1"],
      [2, "b.0"],
      [3, "c.2"],
      [4, "c.5"],
    ],
  );
  assert.equal(work.jobIndex(2, 5), 4);
  assert.throws(() => work.jobIndex(1, 1), /profile 1 is not in segment 1/);
  // A failure group's refs carry what was delivered of them; the batch's index comes back.
  const failed = [{ ...work.profiles[4]!, deliveredParts: [0] }, { ...work.profiles[0]! }, { ...work.profiles[3]! }];
  assert.deepEqual(
    work.bySegment(failed).map(({ segment: s, position, refs }) => [s.batch, position, refs.map((r) => [r.index, r.deliveredParts])]),
    [
      ["a", 0, [[0, undefined]]],
      [
        "c",
        2,
        [
          [5, [0]],
          [2, undefined],
        ],
      ],
    ],
  );
  assert.throws(() => work.bySegment([ref(9)]), /profile 9 is not in this job/);
});

test("a drain job that claimed nothing has no profiles", () => {
  const work = JobWork.ofDrain([]);
  assert.deepEqual(work.profiles, []);
  assert.deepEqual(work.bySegment([]), []);
});

test("a lost segment of a drain job keeps its numbers, so progress saved before its references went names the same profiles", () => {
  const whole = JobWork.ofDrain([segment("a", 0, 1, 2), segment("c", 0, 1)]);
  const withLost = JobWork.ofDrain([{ batch: "a", lost: 3 }, segment("c", 0, 1)]);
  assert.deepEqual(
    withLost.profiles.map((profile) => [profile.index, profile.kind === "ingest" && profile.query]),
    [
      [3, "c.0"],
      [4, "c.1"],
    ],
  );
  assert.deepEqual(
    whole.profiles.slice(3).map((profile) => profile.index),
    [3, 4],
    "as when batch a was there",
  );
  assert.equal(withLost.lost, 3);
  assert.deepEqual(
    withLost.segments.map((s) => s.batch),
    ["c"],
  );
  assert.equal(withLost.jobIndex(0, 1), 4);
  assert.deepEqual(
    withLost.bySegment([withLost.profiles[1]!]).map(({ segment: s, position, refs }) => [s.batch, position, refs.map((r) => r.index)]),
    [["c", 0, [1]]],
  );
  assert.throws(() => withLost.bySegment([ref(0)]), /profile 0 is not in this job/, "a lost profile has no segment");
  const onlyLost = JobWork.ofDrain([{ batch: "a", lost: 2 }]);
  assert.deepEqual(onlyLost.profiles, []);
  assert.equal(onlyLost.lost, 2);
});
