import assert from "node:assert/strict";
import { test } from "node:test";
import { coalescedBlockBytes, coalesceChunks, keptChunks, passedChunkBytes } from "./coalesce-chunks.js";

async function* from(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of source) out.push(chunk);
  return out;
}

const bytes = (length: number, start = 0): Uint8Array => Uint8Array.from({ length }, (_, i) => (start + i) % 251);

test("1-byte chunks come out in full blocks, the rest at the end, every byte in order", async () => {
  const body = bytes(2 * coalescedBlockBytes + 1000);
  async function* oneByOne(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < body.length; i++) yield body.subarray(i, i + 1);
  }
  const out = await collect(coalesceChunks(oneByOne()));
  assert.deepEqual(
    out.map((chunk) => chunk.byteLength),
    [coalescedBlockBytes, coalescedBlockBytes, 1000],
  );
  assert.deepEqual(Buffer.concat(out), Buffer.from(body));
});

test("a few small chunks and large chunks pass as they came, without a copy", async () => {
  const small = Array.from({ length: keptChunks }, (_, i) => bytes(100, i));
  const passed = await collect(coalesceChunks(from(small)));
  assert.ok(passed.length === keptChunks && passed.every((chunk, i) => chunk === small[i]));
  const large = [bytes(passedChunkBytes), bytes(3 * coalescedBlockBytes)];
  const out = await collect(coalesceChunks(from(large)));
  assert.equal(out.length, 2);
  assert.ok(out.every((chunk, i) => chunk === large[i]));
});

test("small chunks held before a large one are passed on first, in order", async () => {
  const many = Array.from({ length: keptChunks + 1 }, (_, i) => bytes(10, i));
  const chunks = [...many, bytes(passedChunkBytes, 30), bytes(5, 7)];
  const out = await collect(coalesceChunks(from(chunks)));
  assert.deepEqual(
    out.map((chunk) => chunk.byteLength),
    [10 * (keptChunks + 1), passedChunkBytes, 5],
  );
  assert.equal(out[1], chunks[keptChunks + 1]);
  assert.deepEqual(Buffer.concat(out), Buffer.concat(chunks));
});

test("what is held comes out as soon as the source ends, not later", async () => {
  let end: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (end = resolve));
  async function* source(): AsyncGenerator<Uint8Array> {
    yield bytes(3);
    yield bytes(4);
    await ended;
  }
  const it = coalesceChunks(source());
  const first = it.next();
  let settled = false;
  void first.then(() => (settled = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, false, "nothing yet: the body has not ended");
  end();
  assert.equal((await first).value?.byteLength, 3);
  assert.equal((await it.next()).value?.byteLength, 4);
  assert.equal((await it.next()).done, true);
});

test("chunks of any sizes: the bytes as sent, in at most two chunks per passed size past the first few", async () => {
  // Mostly small, every 37th around the size that passes: held bytes are cut short before each.
  const chunks = Array.from({ length: 5_000 }, (_, i) => bytes(i % 37 === 0 ? passedChunkBytes + (i % 3) - 1 : (i * 7919) % 50, i));
  const out = await collect(coalesceChunks(from(chunks)));
  const total = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  assert.deepEqual(Buffer.concat(out), Buffer.concat(chunks));
  assert.ok(out.length <= keptChunks + (2 * total) / passedChunkBytes + 1, `${out.length} chunks for ${total} bytes`);
});
