import type { UniversalServerResponse } from "@connectrpc/connect/protocol";

/**
 * connect-es reports a request body that is not valid protobuf (including label values that are
 * not UTF-8), and a gzip body cut short, as `internal`; Pyroscope's connect-go server says
 * `invalid_argument`, which tells the client not to retry. This rewrites exactly those errors, in
 * the Connect, gRPC-Web and gRPC encodings.
 */
export async function decodeErrorAsInvalidArgument(response: UniversalServerResponse): Promise<UniversalServerResponse> {
  if (response.body === undefined || response.body instanceof Uint8Array) {
    return response;
  }
  const contentType = response.header?.get("content-type") ?? "";
  if (response.status === 500 && contentType.startsWith("application/json")) {
    const bytes = await collect(response.body);
    const error = tryJson(bytes);
    if (error?.code === "internal" && typeof error.message === "string" && isDecodeError(error.message)) {
      const body = new TextEncoder().encode(JSON.stringify({ code: "invalid_argument", message: error.message }));
      // The new body is longer than the one connect-es measured: a stale length corrupts the stream.
      const header = new Headers(response.header);
      header.set("content-length", String(body.byteLength));
      return { ...response, status: 400, header, body: once(body) };
    }
    return { ...response, body: once(bytes) };
  }
  if (contentType.startsWith("application/grpc-web")) {
    // The rewritten trailer frame may differ in length from the one any Content-Length counted.
    const header = new Headers(response.header);
    header.delete("content-length");
    return { ...response, header, body: rewriteGrpcWebTrailer(response.body) };
  }
  if (contentType.startsWith("application/grpc") && response.trailer !== undefined) {
    return { ...response, body: rewriteGrpcTrailer(response.body, response.trailer) };
  }
  return response;
}

const parseErrorPrefix = "parse binary: ";
// What connect-node says of a gzip body zlib could not finish (a truncated stream: Z_BUF_ERROR);
// the corrupt ones it already calls invalid_argument.
const decompressionError = "decompression failed";

function isDecodeError(message: string): boolean {
  return message.startsWith(parseErrorPrefix) || message === decompressionError;
}
const grpcWebTrailerFlag = 0x80;

async function* rewriteGrpcWebTrailer(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const chunk of body) {
    if (chunk[0] !== grpcWebTrailerFlag) {
      yield chunk;
      continue;
    }
    const trailer = new TextDecoder().decode(chunk.subarray(5));
    const message = /^grpc-message: ?(.*?)\r?$/m.exec(trailer)?.[1];
    if (!/^grpc-status: ?13\r?$/m.test(trailer) || message === undefined || !isDecodeError(decodeURIComponent(message))) {
      yield chunk;
      continue;
    }
    const data = new TextEncoder().encode(trailer.replace(/^grpc-status: ?13/m, "grpc-status: 3"));
    const frame = new Uint8Array(5 + data.length);
    frame[0] = grpcWebTrailerFlag;
    new DataView(frame.buffer).setUint32(1, data.length);
    frame.set(data, 5);
    yield frame;
  }
}

/** gRPC's status is in the HTTP/2 trailers, which connect-es fills in once the body is done. */
async function* rewriteGrpcTrailer(body: AsyncIterable<Uint8Array>, trailer: Headers): AsyncIterable<Uint8Array> {
  yield* body;
  const message = decodeURIComponent(trailer.get("grpc-message") ?? "");
  if (trailer.get("grpc-status") === "13" && isDecodeError(message)) {
    trailer.set("grpc-status", "3");
  }
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

function tryJson(bytes: Uint8Array): { code?: unknown; message?: unknown } | undefined {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as { code?: unknown; message?: unknown };
  } catch {
    return undefined;
  }
}
