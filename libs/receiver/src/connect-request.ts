import type { ContextValues } from "@connectrpc/connect";
import { universalRequestFromNodeRequest } from "@connectrpc/connect-node";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import { coalesceChunks } from "./coalesce-chunks.js";
import { originForm } from "./http-exchange.js";
import type { ServerRequest, ServerResponse } from "./http-exchange.js";

/**
 * The request connect-es serves for a Node request: its body (`req`'s, or what `body` makes of it)
 * in blocks (see coalesceChunks), and a URL it can build whatever the client sent as the target and authority.
 */
export function connectRequest(req: ServerRequest, res: ServerResponse, values: ContextValues, body: AsyncIterable<Uint8Array> = req): UniversalServerRequest {
  withUrlParts(req);
  // The body connect-es would make of `req` is never read: a generator starts only when iterated.
  return { ...universalRequestFromNodeRequest(req, res, undefined, values), body: coalesceChunks(body) };
}

/**
 * `request` with a body that fails with `error` before anything of it is read. Without its
 * Content-Length, which would have connect-es allocate that many bytes first.
 */
export function refusedBody(request: UniversalServerRequest, error: Error): UniversalServerRequest {
  const header = new Headers(request.header);
  header.delete("content-length");
  const body: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }) };
  return { ...request, header, body };
}

/**
 * connect-es builds the request URL from the target and the authority (`Host`, `:authority`), and
 * fails the call (500) when that URL does not parse. An HTTP/1.0 or HTTP/2 client may leave the
 * authority out, an HTTP/1.1 client send it empty or as no URL has it (`relay:99999`, or in an
 * absolute-form target); connect-go serves such a request, and the URL's host is not read.
 */
function withUrlParts(req: ServerRequest): void {
  const target = originForm(req.url ?? "/");
  if (target !== req.url) req.url = target;
  const usable = (authority: string | undefined): authority is string => authority !== undefined && authority !== "" && URL.canParse(`http://${authority}`);
  if ("authority" in req) {
    const authority = req.headers[":authority"] || req.headers.host;
    req.headers[":authority"] = usable(authority) ? authority : "localhost";
  } else if (!usable(req.headers.host)) {
    req.headers.host = "localhost";
  }
}
