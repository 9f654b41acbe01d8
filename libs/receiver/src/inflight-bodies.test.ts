import assert from "node:assert/strict";
import { connect as http2Connect } from "node:http2";
import type { ClientHttp2Session, IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import { after, describe, test } from "node:test";
import type { TestContext } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { PusherService, PushRequestSchema } from "@pyroscope-relay/proto";
import { gzippedPprof, pollUntil, startRedisServer } from "@pyroscope-relay/testing";
import { adminConnection, jsonBodyOf, rawConnection, send, startTestReceiver, statusOf } from "./test-harness.js";
import type { RawConnection, RawResponse, TestReceiver } from "./test-harness.js";

const redis = await startRedisServer();
const admin = await adminConnection(redis);
after(async () => {
  admin.disconnect();
  await redis.stop();
});

const ingestPath = "/ingest?name=checkout%7B%7D&format=pprof";
const pushPath = "/push.v1.PusherService/Push";
/** The bound of these tests: a few bodies of a few hundred bytes. */
const bound = 1000;
const refusal =
  /^the relay holds \d+ bytes of request bodies in memory, and this body's \d+ bytes would take it past its bound \(--ingest\.max-inflight-body-size\) of 1000 bytes: the profile was not stored, retry later$/;

const pushRequest = create(PushRequestSchema, {
  series: [
    {
      labels: [
        { name: "__name__", value: "process_cpu" },
        { name: "service_name", value: "checkout" },
      ],
      samples: [{ rawProfile: gzippedPprof() }],
    },
  ],
});
const pushBody = Buffer.from(toBinary(PushRequestSchema, pushRequest));

/** An /ingest whose body is under way: `declared` bytes declared, `sent` of them sent, the rest when `finish` is called. */
function bodyUnderWay(t: TestContext, r: TestReceiver, declared: number, sent: number): RawConnection & { finish: () => void } {
  const conn = rawConnection(r.url);
  t.after(() => conn.socket.destroy());
  conn.socket.write(`POST ${ingestPath} HTTP/1.1\r\nHost: relay\r\nContent-Length: ${declared}\r\n\r\n`);
  conn.socket.write(Buffer.alloc(sent, 1));
  return { ...conn, finish: () => conn.socket.write(Buffer.alloc(declared - sent, 2)) };
}

async function held(r: TestReceiver, bytes: number): Promise<void> {
  await pollUntil(`${bytes} body bytes held (${r.bodies.heldBytes} now)`, () => r.bodies.heldBytes === bytes, { timeoutMs: 3_000, everyMs: 5 });
}

/** The first answer on `conn`, once its body (of its Content-Length) has come. */
async function answered(conn: RawConnection): Promise<string> {
  const whole = (text: string): boolean => {
    const end = text.indexOf("\r\n\r\n");
    const length = /\r\ncontent-length: (\d+)\r\n/i.exec(text)?.[1];
    return end !== -1 && length !== undefined && text.length >= end + 4 + Number(length);
  };
  return pollUntil("the answer", () => whole(conn.received()) && conn.received(), { timeoutMs: 3_000, everyMs: 5 });
}

async function refusedCount(r: TestReceiver, api: string): Promise<number> {
  const { values } = await r.metrics.inflightBodyRefused.get();
  return values.find((v) => v.labels.api === api)?.value ?? 0;
}

function assertRefused(res: RawResponse): void {
  assert.equal(res.status, 503, res.body.toString());
  assert.equal(res.headers["retry-after"], "1");
  const error = res.json as { code: string; message: string };
  assert.equal(error.code, "unavailable");
  assert.match(error.message, refusal);
}

/** `bytes` as one chunk of a chunked body. */
function chunk(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from("\r\n")]);
}

function session(t: TestContext, url: string): ClientHttp2Session {
  const client = http2Connect(url);
  client.on("error", () => undefined);
  t.after(() => client.destroy());
  return client;
}

/** One request over h2c, its body sent whole; resolves with the response headers and body. */
function h2Request(client: ClientHttp2Session, headers: OutgoingHttpHeaders, body: Buffer): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const stream = client.request({ ":method": "POST", ...headers });
    let responseHeaders: IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (responseHeaders = h));
    stream.on("data", (data: Buffer) => chunks.push(data));
    stream.on("error", () => undefined);
    stream.on("close", () =>
      responseHeaders === undefined ? reject(new Error("closed without a response")) : resolve({ headers: responseHeaders, body: Buffer.concat(chunks) }),
    );
    stream.end(body);
  });
}

describe("/ingest over HTTP/1.1", () => {
  test("a large declared length is taken as the body arrives, past the first MiB: clients that declare much and send little do not hold the bound", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { maxInflightBodyBytes: 4 * 1024 * 1024, maxBodyBytes: 8 * 1024 * 1024 });
    const idle = [bodyUnderWay(t, r, 3 * 1024 * 1024, 100), bodyUnderWay(t, r, 3 * 1024 * 1024, 100)];
    await held(r, 2 * 1024 * 1024);
    assert.equal((await send(r.url, "POST", ingestPath, {}, Buffer.alloc(200, 3))).status, 200, "a third body is served");
    for (const body of idle) body.socket.destroy();
    await held(r, 0);
  });

  test("a declared body that would take the bodies held past the bound: 503 with Retry-After before one byte of it is sent, nothing stored", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { maxInflightBodyBytes: bound });
    const holder = bodyUnderWay(t, r, 800, 100);
    await held(r, 800);

    const refused = rawConnection(r.url);
    t.after(() => refused.socket.destroy());
    refused.socket.write(`POST ${ingestPath} HTTP/1.1\r\nHost: relay\r\nContent-Length: 300\r\n\r\n`);
    const response = await answered(refused);
    assert.equal(statusOf(response), 503, response);
    assert.match(response, /\r\nretry-after: 1\r\n/i);
    assert.match(response, /\r\nconnection: close\r\n/i, "its body is not read: the connection ends with the answer");
    assert.deepEqual(jsonBodyOf(response), {
      code: "unavailable",
      message:
        "the relay holds 800 bytes of request bodies in memory, and this body's 300 bytes would take it past its bound (--ingest.max-inflight-body-size) of 1000 bytes: the profile was not stored, retry later",
    });
    assert.equal(await refusedCount(r, "ingest"), 1);
    const { values } = await r.metrics.rejectedRequests.get();
    assert.equal(values.find((v) => v.labels.api === "ingest")?.labels.reason, "unavailable");
    assert.ok((await r.metrics.metrics()).split("\n").includes("pyroscope_relay_inflight_body_bytes 800"));
    assert.deepEqual(await r.keys(), [], "nothing stored");

    assert.equal((await send(r.url, "POST", ingestPath, {}, Buffer.alloc(200, 3))).status, 200, "a body that fits the bound exactly is served");
    holder.finish();
    assert.equal(statusOf(await answered(holder)), 200);
    await held(r, 0);
    assert.equal((await r.payloads()).length, 2);
  });

  test("a chunked body is counted as it arrives, and refused once it would pass the bound", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { maxInflightBodyBytes: bound });
    const holder = bodyUnderWay(t, r, 800, 10);
    await held(r, 800);
    const chunked = rawConnection(r.url);
    t.after(() => chunked.socket.destroy());
    chunked.socket.write(`POST ${ingestPath} HTTP/1.1\r\nHost: relay\r\nTransfer-Encoding: chunked\r\n\r\n`);
    chunked.socket.write(chunk(Buffer.alloc(150, 4)));
    await held(r, 950);
    chunked.socket.write(chunk(Buffer.alloc(100, 5)));
    const response = await answered(chunked);
    assert.equal(statusOf(response), 503, response);
    assert.match(jsonBodyOf(response).message, /holds 800 bytes .* this body's 250 bytes/);
    await held(r, 800);
    holder.finish();
    assert.equal(statusOf(await answered(holder)), 200);
    await held(r, 0);
    assert.equal((await r.payloads()).length, 1, "the refused body stored nothing");
  });

  test("a body alone passes whatever its size, declared or chunked; another one meanwhile is refused", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { maxInflightBodyBytes: bound });
    assert.equal((await send(r.url, "POST", ingestPath, {}, Buffer.alloc(5 * bound, 1))).status, 200);
    const chunked = rawConnection(r.url);
    t.after(() => chunked.socket.destroy());
    chunked.socket.write(`POST ${ingestPath} HTTP/1.1\r\nHost: relay\r\nTransfer-Encoding: chunked\r\n\r\n`);
    for (let i = 0; i < 5; i++) chunked.socket.write(chunk(Buffer.alloc(bound, 2)));
    chunked.socket.write("0\r\n\r\n");
    assert.equal(statusOf(await answered(chunked)), 200);
    await held(r, 0);

    const large = bodyUnderWay(t, r, 5 * bound, 10);
    await held(r, 5 * bound);
    assertRefused(await send(r.url, "POST", ingestPath, {}, Buffer.alloc(10, 3)));
    large.finish();
    assert.equal(statusOf(await answered(large)), 200);
    await held(r, 0);
    assert.equal((await r.payloads()).length, 3);
  });
});

describe("Push", () => {
  test("Connect over HTTP/1.1, declared or chunked: unavailable (503) with Retry-After while other bodies fill the bound", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { maxInflightBodyBytes: bound });
    const holder = bodyUnderWay(t, r, 800, 10);
    await held(r, 800);
    assert.ok(pushBody.length > 200, `a Push of ${pushBody.length} bytes does not fit beside the holder`);
    const declared = rawConnection(r.url);
    t.after(() => declared.socket.destroy());
    declared.socket.write(`POST ${pushPath} HTTP/1.1\r\nHost: relay\r\nContent-Type: application/proto\r\nContent-Length: ${pushBody.length}\r\n\r\n`);
    const unread = await answered(declared);
    assert.equal(statusOf(unread), 503, unread);
    assert.match(unread, /\r\nretry-after: 1\r\n/i);
    assert.match(unread, /\r\nconnection: close\r\n/i, "its body is not read: the connection ends with the answer");
    assert.equal(jsonBodyOf(unread).code, "unavailable");
    assert.match(jsonBodyOf(unread).message, refusal);

    const chunked = rawConnection(r.url);
    t.after(() => chunked.socket.destroy());
    chunked.socket.write(`POST ${pushPath} HTTP/1.1\r\nHost: relay\r\nContent-Type: application/proto\r\nTransfer-Encoding: chunked\r\n\r\n`);
    chunked.socket.write(chunk(pushBody.subarray(0, 150)));
    await held(r, 950);
    chunked.socket.write(chunk(pushBody.subarray(150)));
    const response = await answered(chunked);
    assert.equal(statusOf(response), 503, response);
    assert.match(response, /\r\nretry-after: 1\r\n/i);
    assert.equal(jsonBodyOf(response).code, "unavailable");
    assert.match(jsonBodyOf(response).message, refusal);
    assert.equal(await refusedCount(r, "push"), 2);
    await held(r, 800);

    holder.finish();
    assert.equal(statusOf(await answered(holder)), 200);
    await held(r, 0);
    assert.equal((await send(r.url, "POST", pushPath, { "content-type": "application/proto" }, pushBody)).status, 200);
    await held(r, 0);
    assert.equal((await r.payloads()).length, 2);
  });

  test("over h2c: gRPC gets unavailable, Connect with a Content-Length 503; served again once the bodies are given back", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { maxInflightBodyBytes: bound });
    const holder = bodyUnderWay(t, r, bound, 10);
    await held(r, bound);
    const client = createClient(PusherService, createGrpcTransport({ baseUrl: r.url }));
    await assert.rejects(client.push(pushRequest), (err: unknown) => {
      assert.ok(err instanceof ConnectError);
      assert.equal(err.code, Code.Unavailable);
      assert.match(err.rawMessage, refusal);
      return true;
    });
    const connect = await h2Request(session(t, r.url), { ":path": pushPath, "content-type": "application/proto", "content-length": pushBody.length }, pushBody);
    assert.equal(connect.headers[":status"], 503);
    assert.equal(connect.headers["retry-after"], "1");
    assert.match((JSON.parse(connect.body.toString()) as { message: string }).message, refusal);
    assert.equal(await refusedCount(r, "push"), 2);

    holder.finish();
    assert.equal(statusOf(await answered(holder)), 200);
    await held(r, 0);
    await client.push(pushRequest);
    await held(r, 0);
    assert.equal((await r.payloads()).length, 2);
  });
});

test("/ingest over h2c, with a Content-Length or without: 503 with Retry-After while other bodies fill the bound", async (t) => {
  const r = await startTestReceiver(t, redis, admin, { maxInflightBodyBytes: bound });
  const holder = bodyUnderWay(t, r, bound, 10);
  await held(r, bound);
  const client = session(t, r.url);
  const body = Buffer.alloc(10, 1);
  for (const headers of [{ "content-length": body.length }, {}]) {
    const res = await h2Request(client, { ":path": ingestPath, ...headers }, body);
    assert.equal(res.headers[":status"], 503, res.body.toString());
    assert.equal(res.headers["retry-after"], "1");
    assert.match((JSON.parse(res.body.toString()) as { message: string }).message, refusal);
  }
  assert.equal(await refusedCount(r, "ingest"), 2);
  holder.finish();
  assert.equal(statusOf(await answered(holder)), 200);
  await held(r, 0);
  assert.equal((await h2Request(client, { ":path": ingestPath }, body)).headers[":status"], 200);
  await held(r, 0);
});

describe("the bytes are given back however the request ends", () => {
  // No bound: what is taken is counted all the same.
  const roomy = { maxInflightBodyBytes: 0, maxBodyBytes: 16 * 1024 };

  test("answered 200, over HTTP/1.1 and h2c", async (t) => {
    const r = await startTestReceiver(t, redis, admin, roomy);
    assert.equal((await send(r.url, "POST", ingestPath, {}, Buffer.alloc(500, 1))).status, 200);
    assert.equal((await send(r.url, "POST", pushPath, { "content-type": "application/proto" }, pushBody)).status, 200);
    assert.equal((await h2Request(session(t, r.url), { ":path": ingestPath }, Buffer.alloc(500, 1))).headers[":status"], 200);
    await held(r, 0);
  });

  test("413: declared over the limit (nothing taken) or cut off as it passes it", async (t) => {
    const r = await startTestReceiver(t, redis, admin, roomy);
    const over = Buffer.alloc(roomy.maxBodyBytes + 1, 1);
    assert.equal((await send(r.url, "POST", ingestPath, {}, over)).status, 413);
    const chunked = rawConnection(r.url);
    t.after(() => chunked.socket.destroy());
    chunked.socket.write(`POST ${ingestPath} HTTP/1.1\r\nHost: relay\r\nTransfer-Encoding: chunked\r\n\r\n`);
    chunked.socket.write(chunk(Buffer.alloc(roomy.maxBodyBytes - 10, 1)));
    await held(r, roomy.maxBodyBytes - 10);
    chunked.socket.write(chunk(Buffer.alloc(100, 1)));
    assert.equal(statusOf(await answered(chunked)), 413);
    await held(r, 0);
    const push = await h2Request(session(t, r.url), { ":path": pushPath, "content-type": "application/proto" }, over);
    assert.equal(push.headers[":status"], 429);
    await held(r, 0);
  });

  test("the client went away mid-body: /ingest and Push, over HTTP/1.1 and h2c", async (t) => {
    const r = await startTestReceiver(t, redis, admin, roomy);
    for (const path of [ingestPath, pushPath]) {
      const conn = rawConnection(r.url);
      conn.socket.write(`POST ${path} HTTP/1.1\r\nHost: relay\r\nContent-Type: application/proto\r\nContent-Length: 1000\r\n\r\n`);
      conn.socket.write(Buffer.alloc(500, 1));
      await held(r, 1000);
      conn.socket.destroy();
      await held(r, 0);
    }
    const client = session(t, r.url);
    for (const path of [ingestPath, pushPath]) {
      const stream = client.request({ ":method": "POST", ":path": path, "content-type": "application/proto" });
      stream.on("error", () => undefined);
      stream.write(Buffer.alloc(500, 1));
      await held(r, 500);
      // RST_STREAM without END_STREAM (Node's stream.close() would end the body first, making it complete).
      stream.destroy();
      await held(r, 0);
    }
    assert.deepEqual(await r.keys(), []);
  });

  test("Redis down: 503 for /ingest and Push", async (t) => {
    const own = await startRedisServer();
    const ownAdmin = await adminConnection(own);
    t.after(async () => {
      ownAdmin.disconnect();
      await own.stop();
    });
    const r = await startTestReceiver(t, own, ownAdmin, roomy);
    await own.kill();
    const [ingested, pushed] = await Promise.all([
      send(r.url, "POST", ingestPath, {}, Buffer.alloc(500, 1)),
      send(r.url, "POST", pushPath, { "content-type": "application/proto" }, pushBody),
    ]);
    assert.equal(ingested.status, 503, ingested.body.toString());
    assert.equal(pushed.status, 503, pushed.body.toString());
    assert.equal(await refusedCount(r, "ingest"), 0, "not refused for memory");
    await held(r, 0);
  });

  test("a bad request: a Push that does not decode, an /ingest without a name", async (t) => {
    const r = await startTestReceiver(t, redis, admin, roomy);
    const undecodable = await send(r.url, "POST", pushPath, { "content-type": "application/proto" }, Buffer.from([0xff, 0xff, 0xff]));
    assert.equal(undecodable.status, 400, undecodable.body.toString());
    const chunked = rawConnection(r.url);
    t.after(() => chunked.socket.destroy());
    chunked.socket.write(`POST ${pushPath} HTTP/1.1\r\nHost: relay\r\nContent-Type: application/proto\r\nTransfer-Encoding: chunked\r\n\r\n`);
    chunked.socket.write(chunk(Buffer.from([0xff, 0xff, 0xff])));
    chunked.socket.write("0\r\n\r\n");
    assert.equal(statusOf(await answered(chunked)), 400);
    assert.equal((await send(r.url, "POST", "/ingest?format=pprof", {}, Buffer.alloc(500, 1))).status, 400);
    await held(r, 0);
    assert.deepEqual(await r.keys(), []);
  });
});
