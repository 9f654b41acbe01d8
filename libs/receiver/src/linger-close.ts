import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** How long a connection answered before its body was read keeps discarding that body. */
export const LINGER_MS = 1_000;

/**
 * For an answer given while the request body was left unread (over the limit): the connection
 * cannot be reused, so the answer says `Connection: close`, and the close lingers. Node destroys
 * such a socket as soon as the answer is flushed; a client still sending its body then gets EPIPE
 * or a TCP reset, which can discard the answer before the client reads it: it sees a network error
 * and retries a profile that can never fit. Like Go's net/http, this sends FIN after the answer,
 * keeps discarding what arrives for a while, and only then destroys.
 */
export function closeWhenAnswered(res: ServerResponse): void {
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
