import assert from "node:assert/strict";
import { once } from "node:events";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { test, type TestContext } from "node:test";
import { startRedisServer } from "./redis-server.js";
import { startNetworkFaultProxy } from "./network-fault-proxy.js";

/** Sends INCR `key` in RESP and resolves with the reply's text, or with "closed" when the connection closes first. */
function incr(socket: Socket, key: string): Promise<string> {
  return new Promise((resolve) => {
    const onData = (reply: Buffer) => {
      socket.off("close", onClose);
      resolve(reply.toString().trim());
    };
    const onClose = () => {
      socket.off("data", onData);
      resolve("closed");
    };
    socket.once("data", onData);
    socket.once("close", onClose);
    socket.write(`*2\r\n$4\r\nINCR\r\n$${key.length}\r\n${key}\r\n`);
  });
}

async function connect(path: string): Promise<Socket> {
  const socket = createConnection(path);
  await once(socket, "connect");
  return socket;
}

/** A Redis for the test, the proxy in front of it, and a client connected through the proxy. */
async function proxied(t: TestContext) {
  const server = await startRedisServer();
  t.after(() => server.stop());
  const proxy = await startNetworkFaultProxy({ path: server.socketPath }, { path: join(server.dir, "proxy.sock") });
  t.after(() => proxy.close());
  return { server, proxy, client: await connect(proxy.address.path) };
}

test("passes replies through, and loses one when told, closing the connection after Redis ran the command", async (t) => {
  const { server, proxy, client } = await proxied(t);
  assert.equal(await incr(client, "counter"), ":1", "passed through");
  proxy.loseNextReply();
  assert.equal(await incr(client, "counter"), "closed", "the reply lost, the connection closed");
  const direct = await connect(server.socketPath);
  t.after(() => direct.destroy());
  assert.equal(await incr(direct, "counter"), ":3", "Redis ran the command whose reply was lost");
});

test("black-holes the connections open now: they hear nothing and stay open, while a new one passes", async (t) => {
  const { proxy, client } = await proxied(t);
  assert.equal(await incr(client, "counter"), ":1", "passed through");
  assert.equal(proxy.passing, 1);
  proxy.blackHoleOpenConnections();
  assert.equal(proxy.passing, 0);
  const unanswered = incr(client, "counter");
  const heard = await Promise.race([unanswered, sleep(300).then(() => "nothing")]);
  assert.equal(heard, "nothing", "no reply and no close");
  const later = await connect(proxy.address.path);
  t.after(() => later.destroy());
  assert.equal(await incr(later, "counter"), ":2", "a new connection passes; the black-holed INCR never reached Redis");
  client.destroy();
  assert.equal(await unanswered, "closed");
});
