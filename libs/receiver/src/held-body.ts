import type { BodyHold } from "./body-budget.js";
import type { ServerRequest } from "./http-exchange.js";

/**
 * The bytes to take for a body before reading it: its `Content-Length` when within `limit`, else 0
 * (a body without one is taken as it arrives; one declared over the limit is refused 413 unread, or
 * read only up to the limit).
 */
export function declaredBytes(req: ServerRequest, limit: number): number {
  const declared = Number(req.headers["content-length"]);
  return Number.isSafeInteger(declared) && declared > 0 && declared <= limit ? declared : 0;
}

/**
 * The chunks of `source`, the bytes past the `reserved` ones taken from `hold` as they arrive: a
 * body that the process cannot hold ends with the hold's error, which connect-es answers with.
 */
export async function* heldBody(source: AsyncIterable<Uint8Array>, hold: BodyHold, reserved: number): AsyncGenerator<Uint8Array> {
  let size = 0;
  let held = reserved;
  for await (const chunk of source) {
    size += chunk.byteLength;
    if (size > held) {
      const refused = hold.take(size - held);
      if (refused !== undefined) throw refused;
      held = size;
    }
    yield chunk;
  }
}
