import type { Socket } from "node:net";

export interface ConnectionLimitOptions {
  /** Connections served at once; 0 = no limit. */
  limit: number;
  /** Connections that may wait for a slot; a new one beyond that is closed at once. */
  maxWaiting: number;
  /** Starts serving a connection that got a slot. */
  serve(socket: Socket): void;
  /** The number of connections served changed. */
  onOpen(open: number): void;
  /** A connection was closed because too many were waiting. */
  onRefused(): void;
}

/**
 * Alloy's `conn_limit`, which Go's netutil.LimitListener implements: at most `limit` connections are
 * served at once, and the next ones wait, unread, until a served one closes, first come first
 * served, as they would wait in the listen backlog of a Go server that stops accepting. Waiting
 * connections are paused sockets (the server accepts with pauseOnConnect): nothing is read from
 * them, so they cost a file descriptor each, which `maxWaiting` bounds like the kernel bounds a backlog.
 */
export class ConnectionLimit {
  private readonly open = new Set<Socket>();
  private readonly waiting = new Set<Socket>();

  constructor(private readonly options: ConnectionLimitOptions) {}

  admit(socket: Socket): void {
    if (this.options.limit === 0 || this.open.size < this.options.limit) {
      this.start(socket);
      return;
    }
    if (this.waiting.size >= this.options.maxWaiting) {
      this.options.onRefused();
      socket.destroy();
      return;
    }
    this.waiting.add(socket);
    // A waiting socket is not read, so only a local destroy (or a write error) ends it early.
    socket.on("error", () => undefined);
    socket.once("close", () => this.waiting.delete(socket));
  }

  /** Closes every connection still waiting (the listener is closing: Go resets its backlog too). */
  closeWaiting(): void {
    for (const socket of this.waiting) socket.destroy();
    this.waiting.clear();
  }

  /** Closes every connection, served or waiting. */
  destroyAll(): void {
    this.closeWaiting();
    for (const socket of this.open) socket.destroy();
  }

  private start(socket: Socket): void {
    this.open.add(socket);
    this.options.onOpen(this.open.size);
    socket.once("close", () => {
      this.open.delete(socket);
      this.options.onOpen(this.open.size);
      this.next();
    });
    this.options.serve(socket);
  }

  private next(): void {
    for (const socket of this.waiting) {
      this.waiting.delete(socket);
      if (!socket.destroyed) {
        this.start(socket);
        return;
      }
    }
  }
}
