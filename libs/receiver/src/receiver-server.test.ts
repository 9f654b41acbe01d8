import assert from "node:assert/strict";
import { connect } from "node:net";
import type { Socket } from "node:net";
import { after, test } from "node:test";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { PushRequestSchema } from "@pyroscope-relay/proto";
import { gzippedPprof, startRedisServer } from "@pyroscope-relay/testing";
import { createLogger } from "@pyroscope-relay/ops";
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
  /** The status line and headers of the last complete response. */
  lastHead = "";

  constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.waiter?.();
    });
    socket.on("error", () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.isClosed = true;
        this.waiter?.();
        resolve();
      }),
    );
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
          this.lastHead = text.slice(0, headEnd + 2);
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

test("a Push without a Host header (HTTP/1.0), with an empty one, or with one or an absolute-form target no URL takes (relay:99999, x%y), is served, as connect-go serves it", async (t) => {
  const r = await startTestReceiver(t, redis, admin);
  const push = Buffer.from(
    toBinary(
      PushRequestSchema,
      create(PushRequestSchema, {
        series: [{ labels: [{ name: "__name__", value: "cpu" }], samples: [{ rawProfile: profile, ID: "" }] }],
      }),
    ),
  );
  const rest = `Content-Type: application/proto\r\nContent-Length: ${push.length}\r\n\r\n`;
  const heads = [
    `POST /push.v1.PusherService/Push HTTP/1.0\r\n${rest}`,
    `POST /push.v1.PusherService/Push HTTP/1.1\r\nHost:\r\n${rest}`,
    `POST /push.v1.PusherService/Push HTTP/1.1\r\nHost: relay:99999\r\n${rest}`,
    `POST /push.v1.PusherService/Push HTTP/1.1\r\nHost: x%y\r\n${rest}`,
    `POST http://relay:99999/push.v1.PusherService/Push HTTP/1.1\r\nHost: relay:99999\r\n${rest}`,
  ];
  for (const head of heads) {
    const client = await RawClient.open(r.url);
    try {
      client.socket.write(head);
      client.socket.write(push);
      assert.equal(await within(client.response(), 2_000, "the answer"), 200, `${head.split("\r\n", 2).join(" | ")}: ${client.lastHead}`);
    } finally {
      client.socket.destroy();
    }
  }
  assert.equal((await r.payloads()).length, heads.length);
});

test("listen_port 0 binds a free port and url names it", async (t) => {
  const r = await startTestReceiver(t, redis, admin);
  assert.match(r.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(new URL(r.url).port, "0");
  const res = await send(r.url, "POST", "/ingest?name=checkout", {}, profile);
  assert.equal(res.status, 200);
});

test("request headers as long as Go's server takes (1 MiB): a name with a dozen long labels is served, more is 431", async (t) => {
  const r = await startTestReceiver(t, redis, admin);
  const labels = Array.from({ length: 12 }, (_, i) => `label${i}=${"v".repeat(2_000)}`).join(",");
  const res = await send(r.url, "POST", `/ingest?name=${encodeURIComponent(`checkout{${labels}}`)}`, {}, profile);
  assert.equal(res.status, 200, res.body.toString());
  const tooLong = await send(r.url, "POST", "/ingest?name=checkout", { "x-padding": "p".repeat(1024 * 1024) }, profile);
  assert.equal(tooLong.status, 431);
});

test("retarget: a reload that changed only forward_to takes effect for the next request, on the same listener", async (t) => {
  const r = await startTestReceiver(t, redis, admin, { targets: ["alpha", "beta"] });
  assert.equal((await send(r.url, "POST", "/ingest?name=before", {}, profile)).status, 200);
  r.receiver.retarget({ forwardTo: ["pyroscope.write.beta"], targets: ["beta"] });
  assert.equal((await send(r.url, "POST", "/ingest?name=after", {}, profile)).status, 200);
  const queries = async (target: string) =>
    (await r.segments(target)).flatMap((segment) => segment.profiles.map((ref) => (ref.kind === "ingest" ? ref.query : "")));
  assert.deepEqual(await queries("alpha"), ["name=before"]);
  assert.deepEqual((await queries("beta")).sort(), ["name=after", "name=before"]);
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

test("conn_limit: a connection over the limit waits, unread and not reset, and is served once another closes", async (t) => {
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

  // The next two wait, first come first served: connected, their requests sent, nothing answered.
  const [c, d] = [await open(), await open()];
  const answered = [c.ingest(), d.ingest()];
  await sleep(300);
  assert.equal(c.received(), "", "nothing answered while two connections are served");
  assert.equal(c.isClosed || d.isClosed, false, "the waiting connections are not closed");
  const gauge = await r.metrics.receiveTcpConnections.get();
  assert.equal(gauge.values[0]?.value, 2, "only the served connections count");

  // One served connection goes away: the first waiting one is served, the second still waits.
  a.socket.destroy();
  assert.equal(await within(answered[0]!, 2_000, "the first waiting connection to be served"), 200);
  await sleep(100);
  assert.equal(d.received(), "", "the second waiting connection is still waiting");
  b.socket.destroy();
  assert.equal(await within(answered[1]!, 2_000, "the second waiting connection to be served"), 200);
  assert.equal((await r.payloads()).length, 4);
  const rejected = await r.metrics.rejectedRequests.get();
  assert.equal(
    rejected.values.find((v) => v.labels.reason === "conn_limit"),
    undefined,
    "no connection was refused",
  );
}

test("a closed receiver leaves no connection gauges behind (a reload may have removed it)", async (t) => {
  const r = await startTestReceiver(t, redis, admin, { config: { connLimit: 7 } });
  const client = await RawClient.open(r.url);
  assert.equal(await client.ingest(), 200);
  const series = async () => [...(await r.metrics.receiveTcpConnections.get()).values, ...(await r.metrics.receiveTcpConnectionsLimit.get()).values];
  assert.deepEqual(
    (await series()).map((value) => value.value),
    [1, 7],
  );
  client.socket.destroy();
  await r.receiver.close();
  await sleep(50);
  assert.deepEqual(await series(), []);
});

test("conn_limit 0: no limit", async (t) => {
  const r = await startTestReceiver(t, redis, admin, { config: { connLimit: 0 } });
  const clients = await Promise.all(Array.from({ length: 150 }, () => RawClient.open(r.url)));
  try {
    const statuses = await within(Promise.all(clients.map((client) => client.ingest())), 10_000, "150 connections to be served");
    assert.deepEqual(new Set(statuses), new Set([200]));
  } finally {
    clients.forEach((client) => client.socket.destroy());
  }
});

test("closing: waiting connections are closed, a request in flight is answered, then its connection ends", async (t) => {
  const r = await startTestReceiver(t, redis, admin, { config: { connLimit: 1 } });
  const served = await RawClient.open(r.url);
  const waiting = await RawClient.open(r.url);
  try {
    served.socket.write(ingestHead(profile.length));
    served.socket.write(profile.subarray(0, 10));
    waiting.socket.write(ingestHead(profile.length));
    await sleep(100);
    const closing = r.receiver.close();
    await within(waiting.closed, 2_000, "the waiting connection to be closed");
    assert.equal(waiting.received(), "", "the waiting connection got no answer");
    // The request in flight finishes; its keep-alive connection does not outlive it.
    served.socket.write(profile.subarray(10));
    assert.equal(await served.response(), 200);
    assert.match(served.lastHead, /\r\nconnection: close\r\n/i);
    await within(served.closed, 2_000, "the served connection to end after its answer");
    await within(closing, 2_000, "close to resolve");
  } finally {
    served.socket.destroy();
    waiting.socket.destroy();
  }
  assert.equal((await r.payloads()).length, 1);
});

test("closing: a connection that has sent nothing yet is closed at once, not waited for", async (t) => {
  const r = await startTestReceiver(t, redis, admin);
  const silent = await RawClient.open(r.url);
  const started = performance.now();
  try {
    await sleep(50);
    await within(r.receiver.close(), 2_000, "close to resolve");
    await within(silent.closed, 1_000, "the silent connection to be closed");
  } finally {
    silent.socket.destroy();
  }
  assert.ok(performance.now() - started < 2_000);
});

test("server_read_timeout of 0s (no deadline, as in Go) or of 600h (past what Node's timers take, 24.8 days: not 1 ms) lets a slow HTTP/1.1 request be served", async (t) => {
  for (const readTimeoutMs of [0, 600 * 3_600_000]) {
    const r = await startTestReceiver(t, redis, admin, { config: { readTimeoutMs } });
    const client = await RawClient.open(r.url);
    try {
      // Quiet before the first byte, then between two parts of the body: each waits on a read timer.
      await sleep(100);
      client.socket.write(ingestHead(profile.length));
      client.socket.write(profile.subarray(0, 10));
      await sleep(300);
      client.socket.write(profile.subarray(10));
      assert.equal(await within(client.response(), 2_000, "the answer"), 200, `read timeout ${readTimeoutMs} ms`);
    } finally {
      client.socket.destroy();
    }
    assert.equal((await r.payloads()).length, 1);
  }
});

test("graceful_shutdown_timeout of 600h, past what Node's timers take, does not cut a request in flight at once", async (t) => {
  const r = await startTestReceiver(t, redis, admin, { config: { gracefulShutdownTimeoutMs: 600 * 3_600_000 } });
  const served = await RawClient.open(r.url);
  try {
    served.socket.write(ingestHead(profile.length));
    served.socket.write(profile.subarray(0, 10));
    await sleep(100);
    const closing = r.receiver.close();
    await sleep(100);
    served.socket.write(profile.subarray(10));
    assert.equal(await within(served.response(), 2_000, "the answer"), 200);
    await within(closing, 2_000, "close to resolve");
  } finally {
    served.socket.destroy();
  }
  assert.equal((await r.payloads()).length, 1);
});

test("closing: what is still open after graceful_shutdown_timeout is cut", async (t) => {
  const r = await startTestReceiver(t, redis, admin, { config: { gracefulShutdownTimeoutMs: 300 } });
  const stuck = await RawClient.open(r.url);
  try {
    stuck.socket.write(ingestHead(profile.length));
    stuck.socket.write(profile.subarray(0, 10));
    await sleep(50);
    const started = Date.now();
    await within(r.receiver.close(), 3_000, "close to resolve");
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 250 && elapsed < 2_000, `closed after ${elapsed} ms`);
    await within(stuck.closed, 1_000, "the stuck connection to be cut");
  } finally {
    stuck.socket.destroy();
  }
  assert.deepEqual(await r.keys(), []);
});

test("a grpc block is accepted but not served: a warning says so", async (t) => {
  const lines: string[] = [];
  const logger = createLogger({ level: "info", destination: { write: (line: string) => lines.push(line) } });
  await startTestReceiver(t, redis, admin, { config: { grpcBlockIgnored: true }, logger });
  assert.match(lines.join(""), /the grpc block is accepted as Alloy does, but nothing listens on it/);
});

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

test("server_read_timeout: a body completed after the 408 is not stored (/ingest and Push)", async (t) => {
  const readTimeoutMs = 300;
  const r = await startTestReceiver(t, redis, admin, { config: { readTimeoutMs } });
  const push = Buffer.from(
    toBinary(
      PushRequestSchema,
      create(PushRequestSchema, {
        series: [
          {
            labels: [
              { name: "__name__", value: "cpu" },
              { name: "service_name", value: "late" },
            ],
            samples: [{ rawProfile: profile, ID: "" }],
          },
        ],
      }),
    ),
  );
  const heads = [
    ingestHead(profile.length),
    `POST /push.v1.PusherService/Push HTTP/1.1\r\nHost: relay\r\nContent-Type: application/proto\r\nContent-Length: ${push.length}\r\n\r\n`,
  ];
  for (const [head, body] of [
    [heads[0]!, profile],
    [heads[1]!, push],
  ] as const) {
    const client = await RawClient.open(r.url);
    try {
      client.socket.write(head);
      client.socket.write(body.subarray(0, 10));
      assert.equal(await within(client.response(), 2_000, "the 408"), 408);
      // Within the linger after the answer: the rest arrives, the request is complete.
      client.socket.write(body.subarray(10));
      await sleep(200);
    } finally {
      client.socket.destroy();
    }
  }
  assert.deepEqual(await r.keys(), []);
});

test("server_read_timeout: a body still dripping after an early answer (unknown path) is cut off too", async (t) => {
  const readTimeoutMs = 400;
  const r = await startTestReceiver(t, redis, admin, { config: { readTimeoutMs } });
  const client = await RawClient.open(r.url);
  try {
    const started = Date.now();
    client.socket.write("POST /nope HTTP/1.1\r\nHost: relay\r\nContent-Length: 1000\r\n\r\n");
    assert.equal(await within(client.response(), 1_000, "the 404"), 404);
    for (let i = 0; i < 60 && !client.isClosed; i++) {
      client.socket.write("x");
      await sleep(50);
    }
    await within(client.closed, 1_000, "the connection to be cut");
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= readTimeoutMs - 50 && elapsed < readTimeoutMs + 1_000, `cut after ${elapsed} ms`);
  } finally {
    client.socket.destroy();
  }
});
