import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer } from "node:net";
import type { Server, Socket } from "node:net";
import { test } from "node:test";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ConnectionLimit } from "./connection-limit.js";

interface Probe {
  server: Server;
  port: number;
  served: Socket[];
  open: number[];
  refused: number;
  limit: ConnectionLimit;
}

/** A real server whose connections go through a ConnectionLimit; a served connection echoes "ok". */
async function probe(t: TestContext, limit: number, maxWaiting: number): Promise<Probe> {
  const state = { served: [] as Socket[], open: [] as number[], refused: 0 };
  const connectionLimit = new ConnectionLimit({
    limit,
    maxWaiting,
    serve: (socket) => {
      state.served.push(socket);
      socket.resume();
      socket.write("ok");
    },
    onOpen: (open) => state.open.push(open),
    onRefused: () => state.refused++,
  });
  const server = createServer({ pauseOnConnect: true }, (socket) => connectionLimit.admit(socket));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => {
    connectionLimit.destroyAll();
    server.close();
  });
  return Object.assign(state, { server, port: (server.address() as { port: number }).port, limit: connectionLimit });
}

async function client(t: TestContext, port: number): Promise<{ socket: Socket; answer: () => string; closed: Promise<void> }> {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => undefined);
  t.after(() => socket.destroy());
  let answer = "";
  socket.setEncoding("latin1").on("data", (chunk: string) => (answer += chunk));
  const closed = once(socket, "close").then(() => undefined);
  await once(socket, "connect");
  return { socket, answer: () => answer, closed };
}

test("serves up to the limit; the next wait in order, and a slot freed serves the first waiting", async (t) => {
  const p = await probe(t, 1, 10);
  const a = await client(t, p.port);
  const b = await client(t, p.port);
  const c = await client(t, p.port);
  await sleep(100);
  assert.deepEqual([a.answer(), b.answer(), c.answer()], ["ok", "", ""]);
  a.socket.destroy();
  await sleep(100);
  assert.deepEqual([b.answer(), c.answer()], ["ok", ""]);
  b.socket.destroy();
  await sleep(100);
  assert.equal(c.answer(), "ok");
  assert.deepEqual(p.open, [1, 0, 1, 0, 1]);
});

test("a waiting connection the client gave up on takes its turn and ends at once; the next one is served", async (t) => {
  const p = await probe(t, 1, 10);
  const a = await client(t, p.port);
  const gone = await client(t, p.port);
  const next = await client(t, p.port);
  await sleep(50);
  gone.socket.destroy();
  await sleep(50);
  a.socket.destroy();
  await sleep(100);
  assert.equal(next.answer(), "ok");
  // Unread while waiting, the server learns of the client's close only once it serves the connection.
  assert.equal(p.served.length, 3);
});

test("beyond maxWaiting a new connection is closed at once and counted", async (t) => {
  const p = await probe(t, 1, 2);
  const clients = [];
  for (let i = 0; i < 4; i++) clients.push(await client(t, p.port));
  const [, w1, w2, over] = clients;
  await over!.closed;
  assert.equal(p.refused, 1);
  await sleep(50);
  assert.equal(w1!.socket.destroyed || w2!.socket.destroyed, false, "the two waiting stay");
});

test("limit 0: no limit", async (t) => {
  const p = await probe(t, 0, 0);
  const clients = [];
  for (let i = 0; i < 20; i++) clients.push(await client(t, p.port));
  await sleep(100);
  assert.deepEqual(new Set(clients.map((c) => c.answer())), new Set(["ok"]));
  assert.equal(p.refused, 0);
});

test("closeWaiting closes the waiting connections only; destroyAll the served ones too", async (t) => {
  const p = await probe(t, 1, 10);
  const a = await client(t, p.port);
  const b = await client(t, p.port);
  await sleep(50);
  p.limit.closeWaiting();
  await b.closed;
  assert.equal(a.socket.destroyed, false);
  p.limit.destroyAll();
  await a.closed;
});
