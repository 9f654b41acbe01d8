/** The size of the blocks small chunks are copied into. */
export const coalescedBlockBytes = 64 * 1024;

/** A chunk at least this large passes as it came: an HTTP/2 DATA frame of the default size (16 KiB) is not copied. */
export const passedChunkBytes = coalescedBlockBytes / 4;

/**
 * The bytes of `source`, with chunks smaller than `passedChunkBytes` copied together into blocks of
 * `coalescedBlockBytes`: connect-es's envelope decoder (gRPC, gRPC-Web) adds up the length of every
 * chunk it holds on each chunk it gets, so a message dripped in 1-byte reads cost quadratic CPU, and
 * its Connect reader keeps an object per chunk. Now no more than about two chunks per
 * `passedChunkBytes` reach it. A lone small chunk is passed as it is (no copy); what is held is
 * passed on as soon as `source` ends, so the end of the body is not delayed. Every RPC a receiver
 * serves is unary: nothing is read from its body before the body is complete.
 */
export async function* coalesceChunks(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  // A small chunk kept as it came until another follows; then the block that collects them.
  let held: Uint8Array | undefined;
  let block: Uint8Array | undefined;
  let filled = 0;
  function* copy(bytes: Uint8Array): Generator<Uint8Array> {
    for (let at = 0; at < bytes.byteLength; ) {
      block ??= new Uint8Array(coalescedBlockBytes);
      const n = Math.min(bytes.byteLength - at, coalescedBlockBytes - filled);
      block.set(bytes.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === coalescedBlockBytes) {
        yield block;
        block = undefined;
        filled = 0;
      }
    }
  }
  function* flush(): Generator<Uint8Array> {
    if (held !== undefined) yield held;
    else if (block !== undefined && filled > 0) yield block.subarray(0, filled);
    held = block = undefined;
    filled = 0;
  }
  for await (const chunk of source) {
    if (chunk.byteLength >= passedChunkBytes) {
      yield* flush();
      yield chunk;
    } else if (held === undefined && block === undefined) {
      held = chunk;
    } else {
      if (held !== undefined) yield* copy(held);
      held = undefined;
      yield* copy(chunk);
    }
  }
  yield* flush();
}
