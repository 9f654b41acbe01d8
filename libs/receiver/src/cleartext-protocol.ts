import type { Socket } from "node:net";
import { timerDelay } from "@pyroscope-relay/config";

/** What a client speaking HTTP/2 with prior knowledge sends first (RFC 9113, 3.4). */
const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export interface CleartextServers {
  http1(socket: Socket): void;
  http2(socket: Socket): void;
}

/**
 * Tells h2c from HTTP/1.x on a cleartext connection, as Go's h2c handler does for Alloy: HTTP/2
 * with prior knowledge starts with the connection preface, anything else is HTTP/1.x. Reads only
 * until the first byte that differs from the preface (or all of it), then hands the socket on with
 * those bytes put back. A client that has not said which within `timeoutMs` (0: no limit), or
 * closes first, is disconnected. The time counts from here, not from its last byte, as Go's
 * ReadTimeout counts from the accept: a client dripping the preface a byte at a time would
 * otherwise hold its conn_limit slot for as long as it likes.
 */
export function routeCleartext(socket: Socket, servers: CleartextServers, timeoutMs: number): void {
  let seen = Buffer.alloc(0);
  const onError = (): void => undefined;
  // Too slow, or gone before saying anything.
  const onGiveUp = (): void => {
    socket.destroy();
  };
  const deadline = timeoutMs > 0 ? setTimeout(onGiveUp, timerDelay(timeoutMs)) : undefined;
  const onClose = (): void => clearTimeout(deadline);
  const onData = (chunk: Buffer): void => {
    seen = Buffer.concat([seen, chunk]);
    const compared = Math.min(seen.length, preface.length);
    const isHttp2 = seen.subarray(0, compared).equals(preface.subarray(0, compared));
    if (isHttp2 && seen.length < preface.length) return;
    socket.off("data", onData).off("error", onError).off("end", onGiveUp).off("close", onClose);
    clearTimeout(deadline);
    socket.pause();
    socket.unshift(seen);
    // Paused, the bytes put back stay buffered for the server taking over: an HTTP/2 session reads
    // them before its socket; Node's HTTP/1.1 parser gets them as data once the socket flows again.
    if (isHttp2) {
      servers.http2(socket);
    } else {
      servers.http1(socket);
      socket.resume();
    }
  };
  socket.on("error", onError).on("end", onGiveUp).on("close", onClose).on("data", onData);
  // Accepted paused (pauseOnConnect): a data listener alone does not start the flow.
  socket.resume();
}
