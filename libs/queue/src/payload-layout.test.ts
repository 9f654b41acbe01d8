import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import fc from "fast-check";
import { CHUNK_BYTES, chunksCovering, cutOut, layOut } from "./payload-layout.js";

test("payloads are laid end to end and cut into chunks of one size", () => {
  const payloads = [randomBytes(10), randomBytes(CHUNK_BYTES), randomBytes(5)];
  const { offsets, chunks } = layOut(payloads);
  assert.deepEqual(offsets, [0, 10, CHUNK_BYTES + 10]);
  assert.deepEqual(chunks.map((c) => c.length), [CHUNK_BYTES, 15]);
  assert.deepEqual(chunksCovering(10, CHUNK_BYTES), [0, 1]);
  assert.deepEqual(chunksCovering(0, 0), []);
});

test("every payload comes back whole from its chunks, whatever the sizes", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 3 * CHUNK_BYTES }), { minLength: 1, maxLength: 8 }), (sizes) => {
      const payloads = sizes.map((size) => randomBytes(size));
      const { offsets, chunks } = layOut(payloads);
      const loaded = new Map(chunks.map((chunk, i) => [i, chunk]));
      payloads.forEach((payload, i) => assert.ok(cutOut(loaded, offsets[i]!, payload.length)?.equals(payload)));
    }),
    { numRuns: 50 },
  );
});

test("a missing or short chunk leaves the payload unreadable", () => {
  const payload = randomBytes(CHUNK_BYTES + 100);
  const { chunks } = layOut([payload]);
  assert.equal(cutOut(new Map([[0, chunks[0]!]]), 0, payload.length), undefined);
  assert.equal(cutOut(new Map([[0, chunks[0]!.subarray(0, 10)], [1, chunks[1]!]]), 0, payload.length), undefined);
});
