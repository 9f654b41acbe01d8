import type { IncomingMessage } from "node:http";
import { RequestError } from "./request-error.js";

/**
 * Reads a request body as received (no decompression: Pyroscope ignores Content-Encoding on
 * /ingest), refusing with 413 as soon as it would exceed `limit`, so at most `limit` bytes are held.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    throw tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > limit) {
        throw tooLarge(limit);
      }
      chunks.push(buf);
    }
  } catch (err) {
    if (err instanceof RequestError) {
      req.resume();
      throw err;
    }
    throw new RequestError("invalid_argument", "body: the request body could not be read completely", { cause: err });
  }
  if (!req.complete) {
    throw new RequestError("invalid_argument", "body: the request was aborted before the body was complete");
  }
  return Buffer.concat(chunks, size);
}

function tooLarge(limit: number): RequestError {
  return new RequestError("payload_too_large", `body: request body exceeds the limit of ${limit} bytes`);
}
