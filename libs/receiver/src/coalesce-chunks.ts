/** The size of the blocks small chunks are copied into. */
export const coalescedBlockBytes = 64 * 1024;

/** A chunk at least this large passes as it came: an HTTP/2 DATA frame of the default size (16 KiB) is not copied. */
export const passedChunkBytes = coalescedBlockBytes / 4;

/** Small chunks pass as they came up to this many; past it, they are copied into blocks. */
export const keptChunks = 16;

/**
 * The bytes of `source`, with chunks smaller than `passedChunkBytes` copied together into blocks of
 * `coalescedBlockBytes` once more than `keptChunks` of them came: connect-es's envelope decoder
 * (gRPC, gRPC-Web) adds up the length of every chunk it holds on each chunk it gets, so a message
 * dripped in 1-byte reads cost quadratic CPU, and its Connect reader keeps an object per chunk. A
 * body in a few reads, as most are, passes without a copy. What is held is passed on as soon as
 * `source` ends, so the end of the body is not delayed. Every RPC a receiver serves is unary:
 * nothing is read from its body before the body is complete.
 */
export async function* coalesceChunks(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let kept: Uint8Array[] = [];
  // From the chunk past `keptChunks` on, small chunks are copied into the block.
  let copying = false;
  let block: Buffer | undefined;
  let filled = 0;
  function* copy(bytes: Uint8Array): Generator<Uint8Array> {
    for (let at = 0; at < bytes.byteLength; ) {
      block ??= Buffer.allocUnsafe(coalescedBlockBytes);
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
    yield* kept;
    kept = [];
    if (block !== undefined && filled > 0) yield block.subarray(0, filled);
    block = undefined;
    filled = 0;
  }
  for await (const chunk of source) {
    if (chunk.byteLength >= passedChunkBytes) {
      yield* flush();
      yield chunk;
    } else if (!copying && kept.length < keptChunks) {
      kept.push(chunk);
    } else {
      copying = true;
      for (const one of kept) yield* copy(one);
      kept = [];
      yield* copy(chunk);
    }
  }
  yield* flush();
}
