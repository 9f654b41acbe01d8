import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import fc from "fast-check";
import { CHUNK_BYTES, ChunkLayout, chunkSizes, layOut } from "./payload-layout.js";

/** jemalloc's class for a value of `length` bytes in Redis (string header and terminator included). */
function sizeClass(length: number): number {
  const needed = length + (length < 256 ? 4 : 6);
  const classes = [64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024];
  for (let base = 1024; base < 65536; base *= 2) for (let step = 1; step <= 4; step++) classes.push(base + (base / 4) * step);
  return classes.find((c) => c >= needed) ?? Number.NaN;
}

test("a payload is cut into full chunks, then pieces that each fill a size class exactly", () => {
  assert.deepEqual(chunkSizes(0), []);
  assert.deepEqual(chunkSizes(CHUNK_BYTES * 2), [CHUNK_BYTES, CHUNK_BYTES]);
  // 10 KiB: a 10 KiB class less the header, and the 6 bytes left over.
  assert.deepEqual(chunkSizes(10_240), [10_234, 6]);
  // 16 profiles of 10 KiB: two full chunks, then 32,800 bytes as 32 KiB and the rest.
  assert.deepEqual(chunkSizes(163_840), [CHUNK_BYTES, CHUNK_BYTES, 32_762, 38]);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 600_000 }), (total) => {
      const sizes = chunkSizes(total);
      assert.equal(
        sizes.reduce((sum, size) => sum + size, 0),
        total,
      );
      // Every piece but the last fills its class but for the header and terminator (a full chunk
      // keeps 16 bytes spare: Redis reads a value that large with its line ending); the last, under
      // 1 KiB, loses at most what rounds it up to the 1.25 KiB class.
      sizes.slice(0, -1).forEach((size) => assert.ok(sizeClass(size) - size <= 16, `${total}: piece of ${size} in ${sizes.join(", ")}`));
      const last = sizes.at(-1)!;
      assert.ok(last >= 1024 ? sizeClass(last) - last <= 16 : sizeClass(last) - last <= 262, `${total}: last piece of ${last}`);
      assert.ok(sizes.length <= Math.floor(total / CHUNK_BYTES) + 8, `${total}: ${sizes.length} chunks`);
    }),
  );
});

test("payloads are laid end to end; each is found again by its offset and size", () => {
  const payloads = [randomBytes(10), randomBytes(CHUNK_BYTES), randomBytes(5)];
  const { offsets, chunks } = layOut(payloads);
  assert.deepEqual(offsets, [0, 10, CHUNK_BYTES + 10]);
  assert.deepEqual(
    chunks.map((c) => c.length),
    chunkSizes(CHUNK_BYTES + 15),
  );
  const layout = new ChunkLayout(CHUNK_BYTES + 15);
  assert.deepEqual(layout.covering(10, CHUNK_BYTES), [0, 1]);
  assert.deepEqual(layout.covering(0, 0), []);
});

test("every payload comes back whole from its chunks, whatever the sizes", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 3 * CHUNK_BYTES }), { minLength: 1, maxLength: 8 }), (sizes) => {
      const payloads = sizes.map((size) => randomBytes(size));
      const { offsets, chunks } = layOut(payloads);
      const layout = new ChunkLayout(sizes.reduce((sum, size) => sum + size, 0));
      const loaded = new Map(chunks.map((chunk, i) => [i, chunk]));
      payloads.forEach((payload, i) => assert.ok(layout.cut(loaded, offsets[i]!, payload.length)?.equals(payload)));
    }),
    { numRuns: 50 },
  );
});

test("a missing or short chunk leaves the payload unreadable", () => {
  const payload = randomBytes(CHUNK_BYTES + 100);
  const { chunks } = layOut([payload]);
  const layout = new ChunkLayout(payload.length);
  assert.equal(layout.cut(new Map([[0, chunks[0]!]]), 0, payload.length), undefined);
  assert.equal(
    layout.cut(new Map([[0, chunks[0]!.subarray(0, 10)], ...chunks.slice(1).map((c, i) => [i + 1, c] as [number, Buffer])]), 0, payload.length),
    undefined,
  );
});
