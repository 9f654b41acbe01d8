import { Code } from "@connectrpc/connect";
import type { ServerRequest } from "./http-exchange.js";
import { RequestError } from "@pyroscope-relay/ops";

/**
 * Reads a request body as received (no decompression: Pyroscope ignores Content-Encoding on
 * /ingest), refusing with 413 as soon as it would exceed `limit`, so at most `limit` bytes are held.
 *
 * Over the limit the rest of the body is discarded as it arrives, never held. Listeners rather than
 * `for await`: leaving that loop early destroys the request, and a destroyed request no longer
 * drains its socket, so the client, still sending, would run into a reset instead of the 413.
 */
export function readBody(req: ServerRequest, limit: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error?: RequestError): void => {
      req.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose).off("aborted", onClose);
      if (error === undefined) {
        // A body that came in one read is used as it is: a copy per profile counts under load.
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
        return;
      }
      chunks.length = 0;
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        finish(tooLarge(limit));
        // Without a data listener a flowing request discards the rest as it arrives.
        req.resume();
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish();
    const onError = (err: Error): void => finish(new RequestError(Code.InvalidArgument, "body: the request body could not be read completely", { cause: err }));
    const onClose = (): void => finish(aborted());
    // An HTTP/2 request reset by the client ends like a complete one, after 'aborted'.
    req.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose).on("aborted", onClose);
  });
}

function tooLarge(limit: number): RequestError {
  return new RequestError(Code.ResourceExhausted, `body: request body exceeds the limit of ${limit} bytes`, { httpStatus: 413 });
}

function aborted(): RequestError {
  return new RequestError(Code.InvalidArgument, "body: the request was aborted before the body was complete");
}
