/**
 * How many objects a Push request's bytes decode into, counted on the bytes before any decoding.
 *
 * A decoder builds an object for every series, label, annotation and sample, and for every field it does not
 * know: about 180 bytes of heap for an empty series that takes 2 bytes on the wire. A body within
 * the size limit can thus decode into 90 times its size (a 32 MiB body of empty series into 2.9 GB,
 * from a 33 KB gzip), so a receiver counts first and refuses what it cannot afford to decode.
 *
 * Both counts stop once they pass `stopAt`: the answer is then only known to be larger.
 */

/** The most objects a Push may decode into, for a body limit: at most about 4 times the limit in heap. */
export function pushObjectLimit(maxBodyBytes: number): number {
  return Math.max(minimumObjectLimit, Math.floor(maxBodyBytes / bodyBytesPerObject));
}

// About 180 bytes of heap per object at most (an empty series): a limit's 48th part costs ~4 limits.
const bodyBytesPerObject = 48;
// Under a small body limit, a Push of short labels (~20 bytes each) still decodes: ~12 MB at most.
const minimumObjectLimit = 65_536;

/**
 * Objects in a binary (protobuf) `PushRequest`: each series, label, annotation and sample, and each field the
 * schema does not have, at any depth. Counting stops where the bytes stop being protobuf: a decoder
 * refuses them there, having built what came before.
 */
export function binaryPushObjects(bytes: Uint8Array, stopAt = Number.POSITIVE_INFINITY): number {
  const scan = new WireScan(bytes, stopAt);
  scan.message(pushRequest, bytes.byteLength);
  return scan.objects;
}

/**
 * Objects in a JSON `PushRequest`: each object, array, member and element a JSON parser builds (a
 * `{`, `[`, `:` or `,` outside strings). Strings take heap in proportion to their text (or none:
 * short ones are shared), so they count as the member or element they are.
 */
export function jsonPushObjects(bytes: Uint8Array, stopAt = Number.POSITIVE_INFINITY): number {
  let objects = 0;
  let inString = false;
  for (let i = 0; i < bytes.byteLength; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === backslash) i++;
      else if (byte === quote) inString = false;
    } else if (byte === quote) {
      inString = true;
    } else if (byte === openBrace || byte === openBracket || byte === colon || byte === comma) {
      objects++;
      if (objects > stopAt) break;
    }
  }
  return objects;
}

const quote = 0x22;
const backslash = 0x5c;
const openBrace = 0x7b;
const openBracket = 0x5b;
const colon = 0x3a;
const comma = 0x2c;

/** A message's fields that hold messages, by field number; every other field decodes in place. */
type MessageShape = ReadonlyMap<number, MessageShape | "scalar">;

// A label and an annotation alike: a name (key) and a value.
const labelPair: MessageShape = new Map([
  [1, "scalar"],
  [2, "scalar"],
]);
const rawSample: MessageShape = new Map([
  [1, "scalar"],
  [2, "scalar"],
]);
const rawProfileSeries: MessageShape = new Map([
  [1, labelPair],
  [2, rawSample],
  [3, labelPair],
]);
const pushRequest: MessageShape = new Map([[1, rawProfileSeries]]);

enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  StartGroup = 3,
  EndGroup = 4,
  Fixed32 = 5,
}

// protobuf-es refuses messages nested deeper than this.
const recursionLimit = 100;

/** Raised inside a scan where the bytes stop being protobuf or the count passed its stop. */
class ScanEnd extends Error {}

/**
 * Walks the bytes as protobuf-es reads them: a known field is read by its number, whatever its wire
 * type says (a message field as a length and that many bytes, a string or bytes field the same), and
 * a message ends where its length says, even past its parent's end (the parent then ends too).
 */
class WireScan {
  objects = 0;
  private pos = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly stopAt: number,
  ) {}

  message(shape: MessageShape, end: number): void {
    try {
      this.fields(shape, end, 0);
    } catch (err) {
      if (!(err instanceof ScanEnd)) throw err;
    }
  }

  private fields(shape: MessageShape, end: number, depth: number): void {
    if (depth > recursionLimit) throw new ScanEnd();
    while (this.pos < end) {
      const [field, wireType] = this.tag();
      const known = shape.get(field);
      if (known === "scalar") {
        this.advance(this.uint32());
      } else if (known !== undefined) {
        const length = this.uint32();
        this.count();
        this.fields(known, this.pos + length, depth + 1);
      } else {
        this.count();
        this.skip(wireType, field, depth);
      }
    }
  }

  private skip(wireType: number, field: number, depth: number): void {
    switch (wireType) {
      case WireType.Varint:
        this.varint();
        return;
      case WireType.Fixed64:
        this.advance(8);
        return;
      case WireType.LengthDelimited:
        this.advance(this.uint32());
        return;
      case WireType.StartGroup:
        if (depth >= recursionLimit) throw new ScanEnd();
        for (;;) {
          const [inner, innerType] = this.tag();
          if (innerType === WireType.EndGroup) {
            if (inner !== field) throw new ScanEnd();
            return;
          }
          this.skip(innerType, inner, depth + 1);
        }
      case WireType.Fixed32:
        this.advance(4);
        return;
      default:
        throw new ScanEnd();
    }
  }

  private tag(): [field: number, wireType: number] {
    const start = this.pos;
    const tag = this.uint32();
    const read = this.pos - start;
    if (read > 5 || (read === 5 && (this.bytes[this.pos - 1] ?? 0) > 0x0f)) throw new ScanEnd();
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 0 || wireType > WireType.Fixed32) throw new ScanEnd();
    return [field, wireType];
  }

  private count(): void {
    this.objects++;
    if (this.objects > this.stopAt) throw new ScanEnd();
  }

  private advance(length: number): void {
    this.pos += length;
    if (this.pos > this.bytes.byteLength) throw new ScanEnd();
  }

  /** A varint's low 32 bits (a length or a tag), as protobuf-es reads them: at most 10 bytes. */
  private uint32(): number {
    let value = 0;
    for (let i = 0; i < 10; i++) {
      const byte = this.byte();
      if (i < 4) value += (byte & 0x7f) * 2 ** (7 * i);
      else if (i === 4) value += (byte & 0x0f) * 2 ** 28;
      if (byte < 0x80) return value;
    }
    throw new ScanEnd();
  }

  private varint(): void {
    while (this.byte() >= 0x80);
  }

  private byte(): number {
    if (this.pos >= this.bytes.byteLength) throw new ScanEnd();
    return this.bytes[this.pos++] ?? 0;
  }
}
