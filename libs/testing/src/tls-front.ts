// TLS in front of a plain HTTP server (a fake target, a token server), recording each TLS session, so
// that specs can check what the client negotiated.
import { once } from "node:events";
import { connect, type AddressInfo, type Socket } from "node:net";
import { createServer, type TLSSocket, type TlsOptions } from "node:tls";

export interface TlsSession {
  servername: string | false;
  protocol: string | null;
  alpn: string | false | null;
  /** The client certificate's common name, when the client presented one the front trusts. */
  clientCommonName: string | undefined;
}

export interface TlsFront {
  /** `https://127.0.0.1:<port>`. */
  url: string;
  port: number;
  sessions: TlsSession[];
  /** Serve another certificate (a re-issued one) and drop the open connections, as a restarted server does. */
  setCertificate(cert: string, key: string): void;
  close(): Promise<void>;
}

/** Terminates TLS on 127.0.0.1 with `options` (cert, key, and ca + requestCert for mutual TLS) and pipes to `upstreamPort`. */
export async function startTlsFront(upstreamPort: number, options: TlsOptions): Promise<TlsFront> {
  const sessions: TlsSession[] = [];
  const sockets = new Set<Socket>();
  const server = createServer({ ALPNProtocols: ["http/1.1"], ...options }, (socket: TLSSocket) => {
    const peer = socket.getPeerCertificate();
    sessions.push({
      servername: (socket as TLSSocket & { servername: string | false }).servername,
      protocol: socket.getProtocol(),
      alpn: socket.alpnProtocol,
      clientCommonName: socket.authorized && peer.subject ? String(peer.subject.CN) : undefined,
    });
    const upstream = connect(upstreamPort, "127.0.0.1");
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    socket.pipe(upstream).pipe(socket);
  });
  server.on("tlsClientError", () => undefined);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    sessions,
    setCertificate(cert, key) {
      server.setSecureContext({ ...options, cert, key });
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      const closed = once(server, "close");
      server.close();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
