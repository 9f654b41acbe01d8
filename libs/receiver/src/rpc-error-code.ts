import { gunzipSync } from "node:zlib";
import { Code } from "@connectrpc/connect";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import { codeToString } from "@connectrpc/connect/protocol-connect";

/**
 * Hears the error code an RPC answered with (`invalid_argument`, as Connect writes it), once its
 * response is written: connect-es answers errors raised before the handler runs (a body over the
 * limit, one that does not decode, an unsupported compression) itself, so only the response tells.
 * Connect puts the code in a JSON body with a non-200 status, gRPC-Web in its trailer frame, gRPC in
 * its trailers (or in the headers of a trailers-only answer). Nothing is heard for a success.
 */
export function observeRpcError(response: UniversalServerResponse, heard: (code: string) => void): UniversalServerResponse {
  const contentType = response.header?.get("content-type") ?? "";
  const { body } = response;
  if (contentType.startsWith("application/grpc")) {
    const grpcWeb = contentType.startsWith("application/grpc-web");
    const report = (status: string | null | undefined) => {
      // gRPC's status numbers are Connect's codes; 0 is success.
      const code = Number(status ?? 0);
      if (Number.isInteger(code) && code >= Code.Canceled && code <= Code.Unauthenticated) heard(codeToString(code as Code));
    };
    if (body === undefined || body instanceof Uint8Array) {
      report(response.header?.get("grpc-status") ?? (grpcWeb && body !== undefined ? grpcWebStatus(body) : undefined));
      return response;
    }
    return { ...response, body: grpcWeb ? watchGrpcWebTrailer(body, report) : watchGrpcTrailer(body, response, report) };
  }
  if (response.status === 200) return response;
  // An error body of 1 KiB or more goes out compressed to a client that accepts it (connect-go does).
  const gzipped = response.header?.get("content-encoding") === "gzip";
  if (body === undefined || body instanceof Uint8Array) {
    heard(connectCode(body, gzipped) ?? "unknown");
    return response;
  }
  return { ...response, body: watchConnectError(body, gzipped, heard) };
}

const grpcWebTrailerFlag = 0x80;

function grpcWebStatus(chunk: Uint8Array): string | undefined {
  if (chunk[0] !== grpcWebTrailerFlag) return undefined;
  return /^grpc-status: ?(\d+)\r?$/m.exec(new TextDecoder().decode(chunk.subarray(5)))?.[1];
}

async function* watchGrpcWebTrailer(body: AsyncIterable<Uint8Array>, report: (status: string | undefined) => void): AsyncIterable<Uint8Array> {
  for await (const chunk of body) {
    const status = grpcWebStatus(chunk);
    if (status !== undefined) report(status);
    yield chunk;
  }
}

/** connect-es fills gRPC's trailers in once the body is done. */
async function* watchGrpcTrailer(
  body: AsyncIterable<Uint8Array>,
  response: UniversalServerResponse,
  report: (status: string | null | undefined) => void,
): AsyncIterable<Uint8Array> {
  yield* body;
  report(response.trailer?.get("grpc-status") ?? response.header?.get("grpc-status"));
}

async function* watchConnectError(body: AsyncIterable<Uint8Array>, gzipped: boolean, heard: (code: string) => void): AsyncIterable<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) {
    chunks.push(chunk);
    yield chunk;
  }
  heard(connectCode(Buffer.concat(chunks), gzipped) ?? "unknown");
}

function connectCode(body: Uint8Array | undefined, gzipped: boolean): string | undefined {
  if (body === undefined) return undefined;
  try {
    const { code } = JSON.parse(new TextDecoder().decode(gzipped ? gunzipSync(body) : body)) as { code?: unknown };
    return typeof code === "string" ? code : undefined;
  } catch {
    return undefined;
  }
}
