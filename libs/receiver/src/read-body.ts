import { Code } from "@connectrpc/connect";
import type { ServerRequest } from "./http-exchange.js";
import { RequestError } from "@pyroscope-relay/ops";
import type { BodyHold } from "./body-budget.js";
import { declaredBytes } from "./held-body.js";

/** Where a body that needs more than its first read starts, before it doubles. */
const initialCapacity = 64 * 1024;

/**
 * A declared length up to this is taken at once; a larger one is grown into as it arrives, so that a
 * client that declares 32 MiB and sends two bytes holds no more than what it sent, doubled.
 */
const reservedAtOnce = 1024 * 1024;

/**
 * Reads a request body as received (no decompression: Pyroscope ignores Content-Encoding on
 * /ingest), refusing with 413 as soon as it would exceed `limit`, so at most `limit` bytes are held.
 * The bytes are taken from `hold` as the buffer takes them, a declared length up to `reservedAtOnce`
 * before anything is read: a body the process cannot hold is refused with the hold's error (503).
 *
 * Over the limit the rest of the body is discarded as it arrives, never held. Listeners rather than
 * `for await`: leaving that loop early destroys the request, and a destroyed request no longer
 * drains its socket, so the client, still sending, would run into a reset instead of the 413.
 */
export function readBody(req: ServerRequest, limit: number, hold: BodyHold): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  const expected = Number(declared);
  // As the buffer is: a declared length up to `reservedAtOnce` at once, a larger one as it arrives, so
  // that clients that declare large bodies and send nothing cannot hold the process' bound.
  let held = Math.min(declaredBytes(req, limit), reservedAtOnce);
  const refused = hold.take(held);
  if (refused !== undefined) {
    req.resume();
    return Promise.reject(refused);
  }
  return new Promise((resolve, reject) => {
    // The chunks are copied into one buffer as they come: a Buffer kept per chunk costs ~200 bytes
    // of heap, so a body sent in 1-byte chunks would cost two hundred times its size.
    let first: Buffer | undefined;
    let buffer: Buffer | undefined;
    let size = 0;
    const finish = (error?: RequestError): void => {
      req.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose).off("aborted", onClose);
      if (error === undefined) resolve(first ?? (buffer === undefined ? Buffer.alloc(0) : fitted(buffer, size)));
      else reject(error);
      first = buffer = undefined;
    };
    const onData = (chunk: Buffer): void => {
      const end = size + chunk.length;
      if (end > limit) {
        finish(tooLarge(limit));
        // Without a data listener a flowing request discards the rest as it arrives.
        req.resume();
        return;
      }
      if (end > held) {
        const refusal = hold.take(end - held);
        if (refusal !== undefined) {
          finish(refusal);
          req.resume();
          return;
        }
        held = end;
      }
      if (first === undefined && buffer === undefined) {
        // A body that comes in one read is used as it is: a copy per profile counts under load.
        first = chunk;
        size = end;
        return;
      }
      if (buffer === undefined || end > buffer.length) {
        // The declared length when small, or else twice what there was, up to the declared length or the limit.
        const declaredFits = Number.isSafeInteger(expected) && end <= expected;
        const capacity =
          declaredFits && expected <= reservedAtOnce
            ? expected
            : Math.min(declaredFits ? expected : limit, Math.max(end, 2 * (buffer?.length ?? 0), initialCapacity));
        const grown = Buffer.allocUnsafe(capacity);
        (first ?? buffer)?.copy(grown, 0, 0, size);
        first = undefined;
        buffer = grown;
      }
      chunk.copy(buffer, size);
      size = end;
    };
    const onEnd = (): void => finish();
    const onError = (err: Error): void => finish(new RequestError(Code.InvalidArgument, "body: the request body could not be read completely", { cause: err }));
    const onClose = (): void => finish(aborted());
    // An HTTP/2 request reset by the client ends like a complete one, after 'aborted'.
    req.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose).on("aborted", onClose);
  });
}

/** The body's bytes of `buffer`; copied out when the spare room would be held with them till the flush. */
function fitted(buffer: Buffer, size: number): Buffer {
  return buffer.length - size <= size / 4 ? buffer.subarray(0, size) : Buffer.from(buffer.subarray(0, size));
}

function tooLarge(limit: number): RequestError {
  return new RequestError(Code.ResourceExhausted, `body: request body exceeds the limit of ${limit} bytes`, { httpStatus: 413 });
}

function aborted(): RequestError {
  return new RequestError(Code.InvalidArgument, "body: the request was aborted before the body was complete");
}
