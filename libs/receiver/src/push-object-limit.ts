import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { Code } from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import { RequestError } from "@pyroscope-relay/ops";
import { binaryPushObjects, jsonPushObjects, pushObjectLimit } from "@pyroscope-relay/profile";

const gunzipAsync = promisify(gunzip);

/**
 * A receiver refuses, before decoding, a request that would decode into more objects than its body
 * limit allows (see pushObjectLimit): `resource_exhausted`, as for a body over the limit. A Push of
 * empty series within the byte limit would otherwise take 90 times its size in heap, and a gzip of
 * 33 KB decompresses into a 32 MiB one.
 */
export class ObjectLimit {
  readonly objects: number;

  constructor(readonly maxBodyBytes: number) {
    this.objects = pushObjectLimit(maxBodyBytes);
  }

  /** Throws when `objects` (counted up to one past the limit) is over the limit. */
  private check(objects: number): void {
    if (objects > this.objects) {
      throw new RequestError(
        Code.ResourceExhausted,
        `the request decodes into more than ${this.objects} objects (series, labels, annotations, samples, unknown fields): more than its size limit of ${this.maxBodyBytes} bytes allows`,
      );
    }
  }

  /** Counts a JSON message, every JSON RPC's: connect-es hands each to its text decoder, decompressed. */
  checkJson(message: Uint8Array): void {
    this.check(jsonPushObjects(message, this.objects));
  }

  /** The objects of `before` and of a binary message together, checked against the limit. */
  private countBinary(message: Uint8Array, before: number): number {
    const objects = before + binaryPushObjects(message, this.objects - before);
    this.check(objects);
    return objects;
  }

  /**
   * The Push `request` with a body whose binary messages are counted before connect-es reads them
   * (decompressed first when gzip). A body over the size limit, compression other than gzip, or
   * gzip that does not decompress pass as they are: connect-es refuses them without decoding.
   */
  binaryPush(request: UniversalServerRequest): UniversalServerRequest {
    const contentType = (request.header.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
    if (contentType.endsWith("json") || !(request.body instanceof Object && Symbol.asyncIterator in request.body)) return request;
    const body = request.body as AsyncIterable<Uint8Array>;
    if (contentType.startsWith("application/grpc")) {
      const gzip = request.header.get("grpc-encoding")?.toLowerCase() === "gzip";
      return { ...request, body: this.checkedEnvelopes(body, gzip) };
    }
    const encoding = request.header.get("content-encoding")?.toLowerCase() ?? "identity";
    return { ...request, body: this.checkedMessage(body, encoding) };
  }

  private async *checkedMessage(body: AsyncIterable<Uint8Array>, encoding: string): AsyncGenerator<Uint8Array> {
    const source = body[Symbol.asyncIterator]();
    try {
      const held: Uint8Array[] = [];
      let size = 0;
      for (let next = await source.next(); !next.done; next = await source.next()) {
        held.push(next.value);
        size += next.value.byteLength;
        if (size > this.maxBodyBytes) {
          yield* held;
          yield* rest(source);
          return;
        }
      }
      const message = concat(held, size);
      if (encoding === "identity") this.countBinary(message, 0);
      else if (encoding === "gzip") await this.countGzip(message, 0);
      yield message;
    } finally {
      // connect-es stops reading a body it refuses: the request's own reader ends with it.
      await source.return?.();
    }
  }

  /**
   * gRPC and gRPC-Web: each message is counted once whole, and passed on. The count runs over the
   * messages of the body: connect-es decodes a second one before it refuses it (a Push is unary).
   */
  private async *checkedEnvelopes(body: AsyncIterable<Uint8Array>, gzip: boolean): AsyncGenerator<Uint8Array> {
    const source = body[Symbol.asyncIterator]();
    try {
      let held: Uint8Array[] = [];
      let size = 0;
      let objects = 0;
      for (let next = await source.next(); !next.done; next = await source.next()) {
        held.push(next.value);
        size += next.value.byteLength;
        while (size >= envelopeHeaderBytes) {
          const header = concat(held, envelopeHeaderBytes);
          const length = new DataView(header.buffer, header.byteOffset).getUint32(1);
          if (length > this.maxBodyBytes) {
            yield* held;
            yield* rest(source);
            return;
          }
          if (size < envelopeHeaderBytes + length) break;
          const bytes = concat(held, size);
          const envelope = bytes.subarray(0, envelopeHeaderBytes + length);
          const message = envelope.subarray(envelopeHeaderBytes);
          if (((header[0] ?? 0) & compressedFlag) === 0) objects = this.countBinary(message, objects);
          else if (gzip) objects = await this.countGzip(message, objects);
          yield envelope;
          held = bytes.byteLength > envelope.byteLength ? [bytes.subarray(envelope.byteLength)] : [];
          size -= envelope.byteLength;
        }
      }
      yield* held;
    } finally {
      await source.return?.();
    }
  }

  /** As countBinary, decompressed; a body that does not decompress counts nothing: connect-es refuses it. */
  private async countGzip(compressed: Uint8Array, before: number): Promise<number> {
    let message: Uint8Array;
    try {
      message = await gunzipAsync(compressed, { maxOutputLength: this.maxBodyBytes });
    } catch {
      return before;
    }
    return this.countBinary(message, before);
  }
}

const envelopeHeaderBytes = 5;
const compressedFlag = 0b1;

/** The first `size` bytes of `chunks` as one array; the chunk itself when one holds them all. */
function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const first = chunks[0];
  if (first !== undefined && first.byteLength >= size) return first.subarray(0, size);
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    if (at >= size) break;
    const part = chunk.subarray(0, size - at);
    bytes.set(part, at);
    at += part.byteLength;
  }
  return bytes;
}

/** What is left of `source`, which stays open for its owner to close. */
async function* rest(source: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (let next = await source.next(); !next.done; next = await source.next()) yield next.value;
}
