import assert from "node:assert/strict";
import { connect } from "node:net";
import type { Socket } from "node:net";
import { after, test } from "node:test";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { gzippedPprof, startRedisServer } from "@pyroscope-relay/testing";
import { ReceiverListenError } from "./receiver-server.js";
import { adminConnection, send, startTestReceiver, within } from "./test-harness.js";
import type { TestReceiver } from "./test-harness.js";

const redis = await startRedisServer();
const admin = await adminConnection(redis);
after(async () => {
  admin.disconnect();
  await redis.stop();
});

const profile = gzippedPprof();
const ingestHead = (length: number) =>
  `POST /ingest?name=checkout%7B%7D&format=pprof HTTP/1.1\r\nHost: relay\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`;

/** A raw keep-alive connection: send requests one after another, read each response in full. */
class RawClient {
  private buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  readonly closed: Promise<void>;
  isClosed = false;

  constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.waiter?.();
    });
    socket.on("error", () => undefined);
    this.closed = new Promise((resolve) => socket.once("close", () => {
      this.isClosed = true;
      this.waiter?.();
      resolve();
    }));
  }

  static async open(url: string): Promise<RawClient> {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    const client = new RawClient(socket);
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    return client;
  }

  received(): string {
    return this.buffer.toString("latin1");
  }

  /** The status of the next complete response, or undefined when the connection closes first. */
  async response(): Promise<number | undefined> {
    for (;;) {
      const text = this.received();
      const headEnd = text.indexOf("\r\n\r\n");
      if (headEnd !== -1) {
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(text.slice(0, headEnd))?.[1] ?? 0);
        if (this.buffer.length >= headEnd + 4 + length) {
          this.buffer = this.buffer.subarray(headEnd + 4 + length);
          return Number(text.slice(9, 12));
        }
      }
      if (this.isClosed) return undefined;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  async ingest(): Promise<number | undefined> {
    this.socket.write(ingestHead(profile.length));
    this.socket.write(profile);
    return this.response();
  }
}

test("listen_port 0 binds a free port and url names it", async (t) => {
  const r = await startTestReceiver(t, redis, admin);
  assert.match(r.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(new URL(r.url).port, "0");
  const res = await send(r.url, "POST", "/ingest?name=checkout", {}, profile);
  assert.equal(res.status, 200);
});

test("an empty listen address listens on every interface; url is a reachable loopback address", async (t) => {
  const r = await startTestReceiver(t, redis, admin, { config: { listenAddress: "" } });
  assert.match(r.url, /^http:\/\/(127\.0\.0\.1|\[::1\]):\d+$/);
  assert.equal((await send(r.url, "POST", "/ingest?name=checkout", {}, profile)).status, 200);
});

test("a port in use: ReceiverListenError naming the address", async (t) => {
  const first = await startTestReceiver(t, redis, admin);
  const port = Number(new URL(first.url).port);
  await assert.rejects(startTestReceiver(t, redis, admin, { config: { listenPort: port } }), (err: unknown) => {
    assert.ok(err instanceof ReceiverListenError);
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    return true;
  });
});

test("conn_limit: a connection over the limit is closed; once one closes a new one is served", async (t) => {
  const r = await startTestReceiver(t, redis, admin, { config: { connLimit: 2 } });
  const clients: RawClient[] = [];
  try {
    await overTheLimit(r, clients);
  } finally {
    // Not t.after: the receiver's close, registered earlier, would wait for these connections.
    clients.forEach((client) => client.socket.destroy());
  }
});

async function overTheLimit(r: TestReceiver, clients: RawClient[]): Promise<void> {
  const open = async () => {
    const client = await RawClient.open(r.url);
    clients.push(client);
    return client;
  };
  const [a, b] = [await open(), await open()];
  assert.equal(await a.ingest(), 200);
  assert.equal(await b.ingest(), 200);

  const c = await open();
  c.socket.write(ingestHead(profile.length));
  c.socket.write(profile);
  await within(c.closed, 2_000, "the third connection to be closed");
  assert.equal(c.received(), "", "nothing served on the third connection");
  const rejected = await r.metrics.rejectedRequests.get();
  assert.equal(rejected.values.find((v) => v.labels.reason === "conn_limit")?.value, 1, "the drop is counted");

  // Both kept connections still work, then one goes away and makes room.
  assert.equal(await a.ingest(), 200);
  a.socket.destroy();
  await a.closed;
  let served: number | undefined;
  for (const deadline = Date.now() + 2_000; served === undefined && Date.now() < deadline;) {
    // The server counts the closed connection out as soon as it sees the close; retry until then.
    served = await (await open()).ingest();
    if (served === undefined) await sleep(20);
  }
  assert.equal(served, 200);
  assert.equal(await b.ingest(), 200);
  assert.equal((await r.payloads()).length, 5);
}

test("server_read_timeout: a body dripped slower than the timeout is cut off and not stored", async (t) => {
  const readTimeoutMs = 600;
  const r = await startTestReceiver(t, redis, admin, { config: { readTimeoutMs } });
  const client = await RawClient.open(r.url);
  // Not t.after: the receiver's close, registered earlier, would wait for this connection.
  try {
    await dripBody(t, r, client, readTimeoutMs);
  } finally {
    client.socket.destroy();
  }
  assert.equal((await send(r.url, "POST", "/ingest?name=checkout", {}, profile)).status, 200);
});

async function dripBody(t: TestContext, r: TestReceiver, client: RawClient, readTimeoutMs: number): Promise<void> {
  const started = Date.now();
  client.socket.write(ingestHead(profile.length));
  // One byte every 50 ms: never idle long enough for any idle timeout, too slow for the whole body.
  for (let i = 0; i < profile.length && !client.isClosed && Date.now() - started < 5_000; i++) {
    client.socket.write(profile.subarray(i, i + 1));
    await sleep(50);
  }
  await within(client.closed, 2_000, "the connection to be closed");
  const elapsed = Date.now() - started;
  const answer = client.received();
  t.diagnostic(`cut off after ${elapsed} ms: ${JSON.stringify(answer.split("\r\n")[0] ?? "")}`);
  assert.ok(answer === "" || answer.startsWith("HTTP/1.1 408"), answer);
  assert.ok(elapsed < readTimeoutMs + 2_000, `cut off after ${elapsed} ms`);
  assert.deepEqual(await r.keys(), []);
}
