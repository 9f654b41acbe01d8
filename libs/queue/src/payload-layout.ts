/**
 * How a batch's payload is stored: its profiles' bytes laid end to end, cut into chunks of one size.
 * Redis' allocator rounds every value up to a size class (a 10 KiB value takes 12 KiB), so one key
 * per profile would waste up to a fifth of the memory; chunks of exactly one class (64 KiB, less the
 * string header) waste nothing but the last chunk's rounding. Pure: no I/O.
 */
export const CHUNK_BYTES = 65_520;

export interface PayloadLayout {
  /** Where each payload starts. */
  offsets: number[];
  /** The chunks to store, in order; views of one buffer. */
  chunks: Buffer[];
}

export function layOut(payloads: readonly Uint8Array[]): PayloadLayout {
  const offsets: number[] = [];
  let total = 0;
  for (const payload of payloads) {
    offsets.push(total);
    total += payload.byteLength;
  }
  const whole = Buffer.allocUnsafe(total);
  payloads.forEach((payload, i) => whole.set(payload, offsets[i]));
  const chunks: Buffer[] = [];
  for (let start = 0; start < total; start += CHUNK_BYTES) chunks.push(whole.subarray(start, Math.min(total, start + CHUNK_BYTES)));
  return { offsets, chunks };
}

/** The chunks that hold the bytes [offset, offset + size). */
export function chunksCovering(offset: number, size: number): number[] {
  if (size === 0) return [];
  const first = Math.floor(offset / CHUNK_BYTES);
  const last = Math.floor((offset + size - 1) / CHUNK_BYTES);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** The bytes [offset, offset + size) from loaded chunks; undefined when a chunk is missing or short. */
export function cutOut(chunks: ReadonlyMap<number, Buffer>, offset: number, size: number): Buffer | undefined {
  const parts: Buffer[] = [];
  for (const index of chunksCovering(offset, size)) {
    const chunk = chunks.get(index);
    const start = index * CHUNK_BYTES;
    const to = Math.min(CHUNK_BYTES, offset + size - start);
    if (chunk === undefined || chunk.length < to) return undefined;
    parts.push(chunk.subarray(Math.max(0, offset - start), to));
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}
