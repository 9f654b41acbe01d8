// AnswerReader through HttpDispatcher.exchange against a real HTTP server on loopback.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test, type TestContext } from "node:test";
import { HttpDispatcher, type HttpRequest } from "./http-dispatcher.js";

/** A server answering each request with `answer`, counting the connections it accepted. */
async function server(t: TestContext, answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const received: IncomingMessage[] = [];
  const http = createServer((req, res) => {
    received.push(req);
    answer(req, res);
  });
  let connections = 0;
  http.on("connection", () => connections++);
  http.listen(0, "127.0.0.1");
  await once(http, "listening");
  t.after(() => {
    http.closeAllConnections();
    http.close();
  });
  const origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return { origin, received, connections: () => connections };
}

function dispatcher(t: TestContext): HttpDispatcher {
  const http = new HttpDispatcher({ tls: undefined, proxy: undefined, allowH2: false, followRedirects: false, connectTimeoutMs: 2_000, env: {} });
  t.after(() => http.close());
  return http;
}

function post(origin: string, signal?: AbortSignal): HttpRequest {
  return { origin, path: "/ingest", method: "POST", headers: ["Content-Type", "text/plain"], body: Buffer.from("profile"), ...(signal ? { signal } : {}) };
}

test("exchange keeps the start of a long body and reads the rest off, so one connection carries the next request", async (t) => {
  const long = "e".repeat(100 * 1024);
  let n = 0;
  const target = await server(t, (req, res) => {
    // Answered once the request is read, or Node's server closes the connection after the answer.
    req.resume().on("end", () => {
      if (n++ === 0) {
        res.writeHead(500, { "Retry-After": "7", "Set-Cookie": ["a=1", "b=2"] });
        res.end(`too bad: ${long}`);
      } else {
        res.end();
      }
    });
  });
  const http = dispatcher(t);
  const first = await http.exchange(post(target.origin), 16);
  assert.equal(first.statusCode, 500);
  assert.deepEqual([first.bodyStart, first.bodyCut], ["too bad: eeeeeee", true]);
  assert.equal(first.headers["retry-after"], "7");
  assert.deepEqual(first.headers["set-cookie"], ["a=1", "b=2"]);
  // undici's pool takes a connection back a moment after its answer ends: a request sent at once
  // would open another, whether or not the body was read off.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const second = await http.exchange(post(target.origin), 16);
  assert.deepEqual([second.statusCode, second.bodyStart], [200, ""]);
  assert.equal(target.connections(), 1);
  assert.equal(target.received.length, 2);
});

test("exchange: a body that ends at or before the limit is kept whole, not cut", async (t) => {
  const target = await server(t, (req, res) => {
    req.resume();
    res.writeHead(400).end("bad labels");
  });
  const answer = await dispatcher(t).exchange(post(target.origin), 1024);
  assert.deepEqual([answer.statusCode, answer.bodyStart, answer.bodyCut], [400, "bad labels", false]);
  const exactly = await dispatcher(t).exchange(post(target.origin), "bad labels".length);
  assert.deepEqual([exactly.bodyStart, exactly.bodyCut], ["bad labels", false]);
});

test("exchange: the request's signal aborts it while it waits for the answer, with the signal's reason", async (t) => {
  const target = await server(t, (req) => req.resume());
  const controller = new AbortController();
  const exchange = dispatcher(t).exchange(post(target.origin, controller.signal), 1024);
  while (target.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  const reason = new Error("shutting down");
  controller.abort(reason);
  await assert.rejects(exchange, (error) => error === reason);
  const [request] = target.received;
  if (!request?.socket.destroyed) await once(request!.socket, "close");
});

test("exchange: a signal aborted before the request starts: no request reaches the server", async (t) => {
  const target = await server(t, (req, res) => {
    req.resume();
    res.end();
  });
  const reason = new Error("gone");
  await assert.rejects(dispatcher(t).exchange(post(target.origin, AbortSignal.abort(reason)), 1024), (error) => error === reason);
  assert.equal(target.received.length, 0);
});

test("exchange: a server that closes the connection without answering is an error", async (t) => {
  const target = await server(t, (req) => req.socket.destroy());
  await assert.rejects(dispatcher(t).exchange(post(target.origin), 1024), (error: Error & { code?: string }) => error.code === "UND_ERR_SOCKET");
});

test("exchange: an endless body is cut off once 128 KiB were read, the answer taken as it is and its connection closed", { timeout: 10_000 }, async (t) => {
  const closed: Promise<unknown>[] = [];
  const target = await server(t, (req, res) => {
    req.resume();
    closed.push(once(req.socket, "close"));
    res.writeHead(200);
    const chunk = Buffer.alloc(16 * 1024, "x");
    const timer = setInterval(() => res.write(chunk), 1);
    res.on("close", () => clearInterval(timer));
  });
  const answer = await dispatcher(t).exchange(post(target.origin), 16);
  assert.deepEqual([answer.statusCode, answer.bodyStart], [200, "x".repeat(16)]);
  await Promise.all(closed);
});

test("exchange: once the status is in, a body cut short still gives the answer (a 200 was accepted)", async (t) => {
  const target = await server(t, (req, res) => {
    req.resume().on("end", () => {
      res.writeHead(req.url === "/ok" ? 200 : 400, { "Content-Length": "100000" });
      res.write("bad label", () => res.destroy());
    });
  });
  const http = dispatcher(t);
  const accepted = await http.exchange({ ...post(target.origin), path: "/ok" }, 1024);
  assert.equal(accepted.statusCode, 200);
  const refused = await http.exchange(post(target.origin), 1024);
  assert.deepEqual([refused.statusCode, refused.bodyStart, refused.bodyCut], [400, "bad label", false]);
});
