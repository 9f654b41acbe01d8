// A proxy in front of a Redis that passes everything through, but when told to, lets the next reply
// go nowhere and closes the client's connection: Redis ran the commands, the client never heard.
// What a network cut or a crash between Redis' write and the client's read does; for what a client
// sends again after reconnecting.
import { once } from "node:events";
import { createConnection, createServer, type Socket } from "node:net";

/** A unix socket, or a TCP address. */
export type ProxyAddress = { path: string } | { host: string; port: number };

export interface ReplyLosingProxy<A extends ProxyAddress = ProxyAddress> {
  /** Where the proxy listens. */
  address: A;
  /** The next reply from Redis, on any connection, is lost, and that connection closed. */
  loseNextReply(): void;
  close(): Promise<void>;
}

/** Listens on `listen` and passes each connection on to the Redis at `redis`. */
export async function startReplyLosingProxy<A extends ProxyAddress>(redis: ProxyAddress, listen: A): Promise<ReplyLosingProxy<A>> {
  let loseNext = false;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  };
  const server = createServer((client) => {
    const upstream = createConnection(redis);
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.on("data", (reply: Buffer) => {
      if (!loseNext) {
        client.write(reply);
        return;
      }
      loseNext = false;
      client.destroy();
      upstream.destroy();
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  server.listen(listen);
  await once(server, "listening");
  return {
    address: listen,
    loseNextReply: () => {
      loseNext = true;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}
