import type { IncomingMessage, ServerResponse as Http1ServerResponse } from "node:http";
import { Http2ServerResponse } from "node:http2";
import type { Http2ServerRequest } from "node:http2";

/** A request as either server hands it over: HTTP/1.x, or HTTP/2 through Node's compatibility API. */
export type ServerRequest = IncomingMessage | Http2ServerRequest;
export type ServerResponse = Http1ServerResponse | Http2ServerResponse;

export function isHttp2(res: ServerResponse): res is Http2ServerResponse {
  return res instanceof Http2ServerResponse;
}

/**
 * The request target in origin form (`/ingest?name=app`): one in absolute form
 * (`http://relay:4040/ingest?name=app`, RFC 9112 3.2.2, which Go's server takes too) without its
 * scheme and authority. The rest is kept as sent: not parsed as a URL, which would re-encode the query.
 */
export function originForm(target: string): string {
  const schemeAndAuthority = /^[a-z][a-z0-9+.-]*:\/\/[^/?]*/i.exec(target)?.[0];
  if (schemeAndAuthority === undefined) return target;
  const rest = target.slice(schemeAndAuthority.length);
  return rest.startsWith("/") ? rest : `/${rest}`;
}

/** The path without the query; `//ingest` counts as `/ingest` (some SDKs join a trailing slash). */
export function requestPath(req: ServerRequest): string {
  const target = originForm(req.url ?? "/");
  const at = target.indexOf("?");
  return (at === -1 ? target : target.slice(0, at)).replace(/^\/+/, "/");
}

/** The query string exactly as sent, without `?`. */
export function rawQuery(req: ServerRequest): string {
  const target = originForm(req.url ?? "");
  const at = target.indexOf("?");
  return at === -1 ? "" : target.slice(at + 1);
}

/** Every value of a header, in the order sent; a header repeated on several lines keeps each line. */
export function headerValues(req: ServerRequest, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]?.toLowerCase() === name) values.push(req.rawHeaders[i + 1] ?? "");
  }
  return values;
}

/** The response as JSON; nothing more is read from or written to the exchange by the caller. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Content-Length", bytes.length);
  res.end(bytes);
}
