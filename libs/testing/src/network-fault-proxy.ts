// A proxy in front of a Redis that passes everything through until told to fail as a network does:
// - lose the next reply and close the client's connection (Redis ran the commands, the client never
//   heard: a cut, or a crash between Redis' write and the client's read), for what a client sends
//   again after reconnecting;
// - black-hole the connections open now: nothing passes either way and nothing closes (a partition,
//   a NAT or load balancer that forgot the flow, a peer frozen with its kernel still up), while new
//   connections pass, for what notices a connection that will never answer. A close the client
//   starts still ends its side at once (a real one waits for its own timeout: ioredis'
//   disconnectTimeout).
import { once } from "node:events";
import { createConnection, createServer, type Socket } from "node:net";

/** A unix socket, or a TCP address. */
export type ProxyAddress = { path: string } | { host: string; port: number };

export interface NetworkFaultProxy<A extends ProxyAddress = ProxyAddress> {
  /** Where the proxy listens. */
  address: A;
  /** The next reply from Redis, on any connection, is lost, and that connection closed. */
  loseNextReply(): void;
  /** Every connection open now passes nothing more, for ever, and stays open; later ones pass. */
  blackHoleOpenConnections(): void;
  /** Connections passing data (not black-holed), open now. */
  readonly passing: number;
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  upstream: Socket;
  blackHoled: boolean;
}

/** Listens on `listen` and passes each connection on to the Redis at `redis`. */
export async function startNetworkFaultProxy<A extends ProxyAddress>(redis: ProxyAddress, listen: A): Promise<NetworkFaultProxy<A>> {
  let loseNext = false;
  const links = new Set<Link>();
  const server = createServer((client) => {
    const link: Link = { client, upstream: createConnection(redis), blackHoled: false };
    const { upstream } = link;
    links.add(link);
    for (const socket of [client, upstream]) socket.on("error", () => undefined);
    client.on("data", (request: Buffer) => {
      if (!link.blackHoled) upstream.write(request);
    });
    upstream.on("data", (reply: Buffer) => {
      if (link.blackHoled) return;
      if (!loseNext) {
        client.write(reply);
        return;
      }
      loseNext = false;
      client.destroy();
      upstream.destroy();
    });
    client.on("close", () => {
      upstream.destroy();
      links.delete(link);
    });
    // Behind a black hole the client hears nothing of it, not even its end.
    upstream.on("close", () => {
      if (!link.blackHoled) client.destroy();
    });
  });
  server.listen(listen);
  await once(server, "listening");
  return {
    address: listen,
    loseNextReply: () => {
      loseNext = true;
    },
    blackHoleOpenConnections: () => {
      for (const link of links) link.blackHoled = true;
    },
    get passing() {
      return [...links].filter((link) => !link.blackHoled).length;
    },
    close: async () => {
      for (const { client, upstream } of links) {
        client.destroy();
        upstream.destroy();
      }
      server.close();
      await once(server, "close");
    },
  };
}
