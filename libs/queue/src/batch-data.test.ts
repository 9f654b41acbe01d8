import assert from "node:assert/strict";
import { test } from "node:test";
import { alloyCountOf, profileRef, type ProfileRef } from "./batch-data.js";

const at = { offset: 0, receivedAt: 1 };

test("Alloy's count: a Push is its samples and their raw profiles' bytes, an /ingest body one profile of its bytes", () => {
  const refs: ProfileRef[] = [
    { kind: "push", index: 0, ...at, size: 900, codec: "proto", series: 2, samples: 5, rawBytes: 800 },
    { kind: "ingest", index: 1, ...at, size: 70, query: "name=app", contentTypes: [] },
  ];
  assert.deepEqual(alloyCountOf(refs), { profiles: 6, bytes: 870 });
  assert.deepEqual(alloyCountOf([]), { profiles: 0, bytes: 0 });
});

test("a Push reference of an earlier version, without samples, still reads and counts one profile of its stored bytes", () => {
  const earlier = profileRef.parse({ kind: "push", index: 0, ...at, size: 900, codec: "proto", series: 2 });
  assert.deepEqual(alloyCountOf([earlier]), { profiles: 1, bytes: 900 });
});

test("the samples and raw bytes a reference holds survive parsing", () => {
  const stored = { kind: "push", index: 0, ...at, size: 900, codec: "json", series: 1, samples: 3, rawBytes: 0 };
  assert.deepEqual(profileRef.parse(JSON.parse(JSON.stringify(stored))), stored);
  assert.equal(profileRef.safeParse({ ...stored, samples: -1 }).success, false, "a count is never negative");
});

test("the jobs a Push's series went to count its samples and raw bytes once between them, by the series each owns", () => {
  const push = { kind: "push", index: 0, ...at, size: 900, codec: "proto", series: 4, samples: 8, rawBytes: 800 } as const;
  const refused = { ...push, deliveredParts: [1, 2, 3] };
  const retriedOut = { ...push, deliveredParts: [0, 3] };
  assert.deepEqual(alloyCountOf([refused]), { profiles: 2, bytes: 200 });
  assert.deepEqual(alloyCountOf([retriedOut]), { profiles: 4, bytes: 400 }, "series 3 was delivered: not dropped");
});
