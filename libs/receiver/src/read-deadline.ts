import type { ServerRequest } from "./http-exchange.js";
import { timerDelay } from "@pyroscope-relay/config";

/**
 * A request's body must be complete `ms` after the request arrived (`server_read_timeout`, or the
 * debuginfo upload timeout), on HTTP/1.1 and HTTP/2 alike: Node bounds only HTTP/1.1 requests, and
 * only with one timeout for the whole server. `onExpired` runs when the body is still incomplete
 * then, whether or not the request was answered meanwhile. 0 sets none, as in Go.
 */
export function readDeadline(req: ServerRequest, ms: number, onExpired: () => void): void {
  if (req.complete || ms <= 0) return;
  const timer = setTimeout(() => {
    if (!req.complete) onExpired();
  }, timerDelay(ms));
  timer.unref();
  // Not on 'close': Node closes an HTTP/1.1 request once it is answered, while its body may still come.
  req.once("end", () => clearTimeout(timer));
}
