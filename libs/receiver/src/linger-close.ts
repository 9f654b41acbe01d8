import { constants } from "node:http2";
import type { Socket } from "node:net";
import { isHttp2 } from "./http-exchange.js";
import type { ServerResponse } from "./http-exchange.js";

/** How long a connection answered before its body was read keeps discarding that body. */
export const LINGER_MS = 1_000;

/**
 * For an answer given while the request body was left unread (over the limit, past the read
 * deadline): the exchange cannot go on, and the client must still read the answer.
 *
 * HTTP/1.1: the connection cannot be reused, so the answer says `Connection: close`, and the close
 * lingers. Node destroys such a socket as soon as the answer is flushed; a client still sending its
 * body then gets EPIPE or a TCP reset, which can discard the answer before the client reads it: it
 * sees a network error and retries a profile that can never fit. Like Go's net/http, this sends FIN
 * after the answer, keeps discarding what arrives for a while, and only then destroys.
 *
 * HTTP/2: only the stream ends, the same way: the answer goes out whole, what the client still
 * sends is taken for a while, then the stream is reset. (Resetting it at once, with NO_ERROR as
 * RFC 9113 allows, can drop the answer still queued behind it.)
 */
export function closeWhenAnswered(res: ServerResponse): void {
  if (isHttp2(res)) {
    const stream = res.stream;
    stream.once("finish", () => {
      const timer = setTimeout(() => stream.close(constants.NGHTTP2_CANCEL), LINGER_MS);
      timer.unref();
      stream.once("close", () => clearTimeout(timer));
    });
    return;
  }
  const socket = res.socket;
  if (socket === null) return;
  res.setHeader("Connection", "close");
  lingerOnClose(socket);
}

function lingerOnClose(socket: Socket): void {
  // Node's http server ends the socket of a `Connection: close` response through destroySoon().
  socket.destroySoon = () => {
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
    // Once the client has closed its side there is nothing left to wait for.
    socket.once("end", () => socket.destroy());
  };
}
