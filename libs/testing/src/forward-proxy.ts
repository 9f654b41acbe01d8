// A small HTTP proxy on 127.0.0.1 that records what went through it: CONNECT tunnels (https targets)
// and absolute-form requests (http targets). It routes every host to a local port, so targets may
// have names only the proxy knows, which proves that a request went through it.
import { once } from "node:events";
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";

export interface ProxiedRequest {
  method: string;
  /** `host:port` of a CONNECT, or the absolute URL of a forwarded request. */
  target: string;
  headers: IncomingHttpHeaders;
}

export interface ForwardProxy {
  url: string;
  requests: ProxiedRequest[];
  /** Answer CONNECTs (and forwarded requests) with this status instead of serving them; undefined serves. */
  refuse(status: number | undefined): void;
  close(): Promise<void>;
}

/** `route(host, port)` is the local port that serves `host:port`. */
export async function startForwardProxy(route: (host: string, port: number) => number): Promise<ForwardProxy> {
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  let refusal: number | undefined;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
  };

  const server = createServer((req, res) => {
    requests.push(record(req));
    if (refusal !== undefined) {
      res.writeHead(refusal).end("refused by the proxy");
      return;
    }
    const url = new URL(req.url ?? "");
    const headers = { ...req.headers };
    delete headers["proxy-authorization"];
    delete headers["proxy-connection"];
    const upstream = request(
      { host: "127.0.0.1", port: route(url.hostname, Number(url.port || 80)), method: req.method, path: `${url.pathname}${url.search}`, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("connection", track);
  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    requests.push(record(req));
    track(client);
    if (refusal !== undefined) {
      client.end(`HTTP/1.1 ${refusal} Refused\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const [host = "", port = "443"] = (req.url ?? "").split(/:(?=\d+$)/);
    const upstream = connect(route(host.replace(/^\[(.*)\]$/, "$1"), Number(port)), "127.0.0.1", () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream).pipe(client);
    });
    track(upstream);
    upstream.on("error", () => client.destroy());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    refuse(status) {
      refusal = status;
    },
    async close() {
      const closed = once(server, "close");
      server.close();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

function record(req: IncomingMessage): ProxiedRequest {
  return { method: req.method ?? "", target: req.url ?? "", headers: req.headers };
}
