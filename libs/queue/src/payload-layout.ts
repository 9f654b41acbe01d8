/**
 * How a batch's payload is stored: its profiles' bytes laid end to end, cut into chunks. Redis'
 * allocator (jemalloc) rounds every value up to a size class: a 10 KiB value takes 12 KiB, a 32 KiB
 * remainder 40 KiB. So every chunk is cut to fill a class exactly: full chunks of 64 KiB, then the
 * rest in pieces of the largest classes that fit, until what is left is too small to matter. The cut
 * follows from the payload's total size alone, so a job needs only that to find its profiles. Pure:
 * no I/O.
 */

/** Bytes of a full chunk: 64 KiB less the string header and terminator. */
export const CHUNK_BYTES = 65_520;

/** jemalloc's size classes from 64 bytes to 64 KiB (four per doubling above 128 bytes). */
const SIZE_CLASSES = [
  64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192,
  10240, 12288, 14336, 16384, 20480, 24576, 28672, 32768, 40960, 49152, 57344, 65536,
].reverse();

/** Below this, what is left goes in one last piece: its rounding (at most a quarter) costs about what another key would (some 140 bytes). */
const SMALLEST_PIECE = 1_024;

/** Bytes of a value that fills `sizeClass` exactly: the class less Redis' string header and terminator. */
function fill(sizeClass: number): number {
  return sizeClass - (sizeClass <= 256 ? 4 : 6);
}

/** The sizes of the chunks of a payload of `total` bytes, in order. */
export function chunkSizes(total: number): number[] {
  const sizes: number[] = [];
  let left = total;
  while (left >= CHUNK_BYTES) {
    sizes.push(CHUNK_BYTES);
    left -= CHUNK_BYTES;
  }
  while (left >= SMALLEST_PIECE) {
    const piece = fill(SIZE_CLASSES.find((sizeClass) => fill(sizeClass) <= left)!);
    sizes.push(piece);
    left -= piece;
  }
  if (left > 0) sizes.push(left);
  return sizes;
}

/** Where the chunks of a payload of a given total size start and end. */
export class ChunkLayout {
  /** Start of each chunk, plus the total at the end. */
  private readonly bounds: number[];

  constructor(readonly total: number) {
    this.bounds = [0];
    for (const size of chunkSizes(total)) this.bounds.push(this.bounds.at(-1)! + size);
  }

  get count(): number {
    return this.bounds.length - 1;
  }

  start(chunk: number): number {
    return this.bounds[chunk]!;
  }

  size(chunk: number): number {
    return this.bounds[chunk + 1]! - this.bounds[chunk]!;
  }

  /** The chunks that hold the bytes [offset, offset + size). */
  covering(offset: number, size: number): number[] {
    const covering: number[] = [];
    for (let chunk = 0; chunk < this.count && size > 0; chunk++) {
      if (this.bounds[chunk + 1]! > offset && this.bounds[chunk]! < offset + size) covering.push(chunk);
    }
    return covering;
  }

  /** The bytes [offset, offset + size) from loaded chunks; undefined when a chunk is missing or short. */
  cut(chunks: ReadonlyMap<number, Buffer>, offset: number, size: number): Buffer | undefined {
    const parts: Buffer[] = [];
    for (const chunk of this.covering(offset, size)) {
      const bytes = chunks.get(chunk);
      const start = this.start(chunk);
      const to = Math.min(this.size(chunk), offset + size - start);
      if (bytes === undefined || bytes.length < to) return undefined;
      parts.push(bytes.subarray(Math.max(0, offset - start), to));
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
  }
}

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
  const layout = new ChunkLayout(total);
  const chunks = Array.from({ length: layout.count }, (_, chunk) => whole.subarray(layout.start(chunk), layout.start(chunk) + layout.size(chunk)));
  return { offsets, chunks };
}
