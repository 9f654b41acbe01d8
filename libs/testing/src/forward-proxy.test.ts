import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, request, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { after, test } from "node:test";
import { startForwardProxy } from "./forward-proxy.js";

const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
const upstream = createServer((req, res) => {
  seen.push({ url: req.url ?? "", headers: req.headers });
  res.writeHead(201, { "x-upstream": "yes" }).end(`upstream ${req.method} ${req.url}`);
});
upstream.listen(0, "127.0.0.1");
await once(upstream, "listening");
after(() => upstream.close());
const upstreamPort = (upstream.address() as AddressInfo).port;

const routes: string[] = [];
const proxy = await startForwardProxy((host, port) => {
  routes.push(`${host} ${port}`);
  return upstreamPort;
});
after(() => proxy.close());
const proxyPort = Number(new URL(proxy.url).port);

function viaProxy(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: proxyPort, path, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A CONNECT to `target`, then a plain GET through the tunnel; the status of the CONNECT and the raw answer. */
function tunnel(target: string): Promise<{ status: number; answer: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: proxyPort, method: "CONNECT", path: target, agent: false });
    req.on("connect", (res, socket: Socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, answer: "" });
        return;
      }
      let answer = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => (answer += chunk));
      socket.on("end", () => resolve({ status: 200, answer }));
      socket.on("error", reject);
      socket.end("GET /through HTTP/1.1\r\nHost: tunnelled\r\nConnection: close\r\n\r\n");
    });
    req.on("error", reject);
    req.end();
  });
}

test("forwards an absolute-form request to the routed port, without the proxy's own headers", async () => {
  const res = await viaProxy("http://only-the-proxy-knows:8080/ingest?name=a", { "proxy-authorization": "Basic eDp5", "x-scope-orgid": "t" });
  assert.equal(res.status, 201);
  assert.equal(res.headers["x-upstream"], "yes");
  assert.equal(res.body, "upstream GET /ingest?name=a");
  assert.equal(routes.at(-1), "only-the-proxy-knows 8080");
  assert.equal(seen.at(-1)?.headers["proxy-authorization"], undefined);
  assert.equal(seen.at(-1)?.headers["x-scope-orgid"], "t");
  assert.equal(proxy.requests.at(-1)?.method, "GET");
  assert.equal(proxy.requests.at(-1)?.target, "http://only-the-proxy-knows:8080/ingest?name=a");
  assert.equal(proxy.requests.at(-1)?.headers["proxy-authorization"], "Basic eDp5");
  await viaProxy("http://default-port/x");
  assert.equal(routes.at(-1), "default-port 80");
});

test("tunnels a CONNECT to the routed port, IPv6 hosts without their brackets", async () => {
  const res = await tunnel("secure.example:8443");
  assert.equal(res.status, 200);
  assert.match(res.answer, /^HTTP\/1\.1 201 /);
  assert.match(res.answer, /\r\nupstream GET \/through\r\n/);
  assert.equal(routes.at(-1), "secure.example 8443");
  assert.deepEqual(
    proxy.requests.filter((r) => r.method === "CONNECT").map((r) => r.target),
    ["secure.example:8443"],
  );
  await tunnel("[::1]:443");
  assert.equal(routes.at(-1), "::1 443");
});

test("refuse answers both kinds with the status until cleared", async (t) => {
  t.after(() => proxy.refuse(undefined));
  proxy.refuse(407);
  const before = routes.length;
  const refused = await viaProxy("http://a:1/");
  assert.equal(refused.status, 407);
  assert.equal(refused.body, "refused by the proxy");
  assert.equal((await tunnel("a:443")).status, 407);
  assert.equal(routes.length, before);
  proxy.refuse(undefined);
  assert.equal((await viaProxy("http://a:1/")).status, 201);
});
