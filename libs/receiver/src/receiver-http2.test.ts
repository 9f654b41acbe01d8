import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { connect as http2Connect, constants } from "node:http2";
import type { ClientHttp2Session, IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import { connect as netConnect } from "node:net";
import { dirname, resolve } from "node:path";
import { after, describe, test } from "node:test";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create, fromBinary, toBinary, toJsonString } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { rewriteIngestQuery } from "@pyroscope-relay/profile";
import { PusherService, PushRequestSchema } from "@pyroscope-relay/proto";
import type { PushRequest } from "@pyroscope-relay/proto";
import { createLogger } from "@pyroscope-relay/ops";
import { gzippedPprof, startRedisServer } from "@pyroscope-relay/testing";
import { LINGER_MS } from "./linger-close.js";
import { adminConnection, http2Defaults, send, startTestReceiver, within } from "./test-harness.js";
import type { TestReceiver } from "./test-harness.js";

const redis = await startRedisServer();
const admin = await adminConnection(redis);
after(async () => {
  admin.disconnect();
  await redis.stop();
});

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const pushPath = "/push.v1.PusherService/Push";
const ingestPath = "/ingest?name=checkout%7Benv%3Dprod%7D&format=pprof";

function pushRequest(service: string, seed = 1): PushRequest {
  return create(PushRequestSchema, {
    series: [
      {
        labels: [
          { name: "__name__", value: "process_cpu" },
          { name: "service_name", value: service },
        ],
        samples: [{ rawProfile: gzippedPprof({ seed }), ID: "" }],
      },
    ],
  });
}

function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

function session(t: TestContext, url: string): ClientHttp2Session {
  const client = http2Connect(url);
  client.on("error", () => undefined);
  t.after(() => client.destroy());
  return client;
}

/**
 * A session that has its server's SETTINGS: a request timed on it measures the server, not the
 * connection's setup.
 */
async function settledSession(t: TestContext, url: string): Promise<ClientHttp2Session> {
  const client = session(t, url);
  await once(client, "remoteSettings");
  return client;
}

interface H2Response {
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  body: Buffer;
  /** The RST_STREAM code the stream closed with (0: NO_ERROR, or closed normally). */
  rstCode: number;
  respondedAfterMs: number;
  closedAfterMs: number;
}

/** One request on an HTTP/2 session; `body` chunks are written `dripMs` apart. */
function h2Request(client: ClientHttp2Session, headers: OutgoingHttpHeaders, body: Buffer[] = [], dripMs = 0): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const stream = client.request(headers);
    const started = Date.now();
    let responseHeaders: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    let respondedAfterMs = -1;
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      responseHeaders = h;
      respondedAfterMs = Date.now() - started;
    });
    stream.on("trailers", (h) => (trailers = h));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", () => undefined);
    stream.on("close", () => {
      if (responseHeaders[":status"] === undefined && stream.rstCode === 0) reject(new Error("closed without a response"));
      else
        resolve({
          headers: responseHeaders,
          trailers,
          body: Buffer.concat(chunks),
          rstCode: stream.rstCode,
          respondedAfterMs,
          closedAfterMs: Date.now() - started,
        });
    });
    void (async () => {
      for (const chunk of body) {
        if (stream.closed) return;
        stream.write(chunk);
        if (dripMs > 0) await sleep(dripMs);
      }
      if (!stream.closed) stream.end();
    })();
  });
}

async function storedPushes(r: TestReceiver): Promise<PushRequest[]> {
  return (await r.payloads()).map((payload) => fromBinary(PushRequestSchema, payload.bytes));
}

/** Push requests the receiver counted as rejected, by reason. */
async function pushRejections(r: TestReceiver): Promise<Record<string, number>> {
  const { values } = await r.metrics.rejectedRequests.get();
  return Object.fromEntries(values.filter((v) => v.labels.api === "push").map((v) => [String(v.labels.reason), v.value]));
}

describe("h2c beside HTTP/1.1, as Alloy serves it whatever the http2 block says", () => {
  test("/ingest over h2c: stored with its query and every Content-Type value; HTTP/1.1 still served on the port", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const profile = gzippedPprof({ seed: 4 });
    const res = await h2Request(
      session(t, r.url),
      {
        ":method": "POST",
        ":path": `/${ingestPath}`,
        "content-type": "application/octet-stream",
        "x-scope-orgid": "team-h2",
      },
      [profile],
    );
    assert.equal(res.headers[":status"], 200, res.body.toString());
    assert.equal((await send(r.url, "POST", ingestPath, {}, gzippedPprof({ seed: 5 }))).status, 200);

    const payloads = await r.payloads();
    assert.equal(payloads.length, 2);
    const overHttp2 = payloads.find((payload) => payload.bytes.equals(profile));
    assert.ok(overHttp2, "the body byte for byte");
    const segment = (await r.segments("alpha")).find((j) => j.batch === overHttp2.batchId);
    const [ref] = segment?.profiles ?? [];
    assert.ok(ref?.kind === "ingest");
    assert.equal(ref.query, ingestPath.slice("/ingest?".length));
    assert.deepEqual(ref.contentTypes, ["application/octet-stream"]);
    assert.equal(ref.tenant, "team-h2");
  });

  test("/ingest over h2c: raw UTF-8 in the query is kept as its bytes and forwarded as Alloy does, not encoded twice", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    // Node hands over an HTTP/2 :path one character per byte, as it sends one.
    const query = `name=app%7Benv%3D${Buffer.from("é").toString("latin1")}%7D&format=pprof`;
    const res = await h2Request(session(t, r.url), { ":method": "POST", ":path": `/ingest?${query}` }, [gzippedPprof({ seed: 6 })]);
    assert.equal(res.headers[":status"], 200, res.body.toString());
    const [segment] = await r.segments("alpha");
    const [ref] = segment?.profiles ?? [];
    assert.ok(ref?.kind === "ingest");
    assert.equal(ref.query, query);
    assert.equal(rewriteIngestQuery(ref.query, {}), "format=pprof&name=app%7Benv%3D%C3%A9%2Cservice_name%3Dapp%7D");
  });

  test("Push over native gRPC, Connect and gRPC-Web on HTTP/2", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const transports = [
      ["grpc", createGrpcTransport({ baseUrl: r.url })],
      ["connect", createConnectTransport({ baseUrl: r.url, httpVersion: "2" })],
      ["grpc-web", createGrpcWebTransport({ baseUrl: r.url, httpVersion: "2" })],
    ] as const;
    for (const [name, transport] of transports) {
      await createClient(PusherService, transport).push(pushRequest(name));
    }
    const services = (await storedPushes(r)).map((p) => p.series[0]?.labels[1]?.value).sort();
    assert.deepEqual(services, ["connect", "grpc", "grpc-web"]);
  });

  test("Push over gRPC with buf curl --protocol grpc --http2-prior-knowledge", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const request = pushRequest("buf-curl", 7);
    const { stdout } = await promisify(execFile)(
      resolve(repo, "node_modules/.bin/buf"),
      [
        "curl",
        "--schema",
        resolve(repo, "proto"),
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "-H",
        "X-Scope-OrgID: team-buf",
        "-d",
        toJsonString(PushRequestSchema, request),
        `${r.url}${pushPath}`,
      ],
      { cwd: repo },
    );
    assert.equal(stdout.trim(), "{}");
    assert.deepEqual(await storedPushes(r), [request]);
    const [segment] = await r.segments("alpha");
    assert.deepEqual(
      segment?.profiles.map((p) => p.tenant),
      ["team-buf"],
    );
  });

  test("gRPC: undecodable protobuf is invalid_argument (grpc-status 3), nothing stored", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const res = await h2Request(
      session(t, r.url),
      {
        ":method": "POST",
        ":path": pushPath,
        "content-type": "application/grpc",
        te: "trailers",
      },
      [grpcFrame(Buffer.from([0x0a, 0xff, 0xff, 0x01]))],
    );
    assert.equal(res.headers[":status"], 200);
    assert.equal(res.trailers["grpc-status"], "3", JSON.stringify(res.trailers));
    assert.match(decodeURIComponent(String(res.trailers["grpc-message"])), /parse binary/);
    assert.deepEqual(await r.keys(), []);
    assert.deepEqual(await pushRejections(r), { invalid_argument: 1 });
  });

  test("gRPC: an invalid label name is invalid_argument, a full backlog resource_exhausted", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { backlog: { maxProfiles: 1, maxBytes: 1 << 30, policy: "reject" } });
    const client = createClient(PusherService, createGrpcTransport({ baseUrl: r.url }));
    await assert.rejects(
      client.push(create(PushRequestSchema, { series: [{ labels: [{ name: "bad-name", value: "x" }], samples: [{ rawProfile: gzippedPprof() }] }] })),
      { code: 3 },
    );
    await client.push(pushRequest("first"));
    await assert.rejects(client.push(pushRequest("second")), { code: 8 });
    assert.equal((await r.payloads()).length, 1);
    assert.deepEqual(await pushRejections(r), { invalid_argument: 1, resource_exhausted: 1 }, "each counted once");
  });

  test("404 and 405 over HTTP/2, as over HTTP/1.1", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const client = session(t, r.url);
    const missing = await h2Request(client, { ":method": "POST", ":path": "/nope" }, [Buffer.from("x")]);
    assert.equal(missing.headers[":status"], 404);
    assert.equal((JSON.parse(missing.body.toString()) as { code: string }).code, "not_found");
    const get = await h2Request(client, { ":method": "GET", ":path": "/ingest" });
    assert.equal(get.headers[":status"], 405);
    assert.equal(get.headers.allow, "POST");
  });

  test("a body over the limit: 413 at once; a client still sending after the answer has its stream reset", async (t) => {
    const limit = 8 * 1024;
    const r = await startTestReceiver(t, redis, admin, { maxBodyBytes: limit });
    const chunks = Array.from({ length: 400 }, () => Buffer.alloc(4096, 1));
    // The body takes 4 s to send (400 chunks 10 ms apart): answered at once, long before its end.
    const res = await within(h2Request(await settledSession(t, r.url), { ":method": "POST", ":path": ingestPath }, chunks, 10), 10_000, "the answer");
    t.diagnostic(`answered after ${res.respondedAfterMs} ms, reset after ${res.closedAfterMs} ms`);
    assert.equal(res.headers[":status"], 413);
    assert.equal((JSON.parse(res.body.toString()) as { code: string }).code, "resource_exhausted");
    assert.ok(res.respondedAfterMs < 2_000, `answered after ${res.respondedAfterMs} ms`);
    assert.equal(res.rstCode, constants.NGHTTP2_CANCEL);
    assert.ok(res.closedAfterMs < res.respondedAfterMs + LINGER_MS + 1_000, `reset after ${res.closedAfterMs} ms`);
    assert.deepEqual(await r.keys(), []);
  });

  test("gRPC: a body over the limit is resource_exhausted (grpc-status 8 in the trailers)", async (t) => {
    const limit = 8 * 1024;
    const r = await startTestReceiver(t, redis, admin, { maxBodyBytes: limit });
    const big = create(PushRequestSchema, {
      series: [{ labels: [{ name: "__name__", value: "cpu" }], samples: [{ rawProfile: Buffer.alloc(4 * limit, 1) }] }],
    });
    await assert.rejects(createClient(PusherService, createGrpcTransport({ baseUrl: r.url })).push(big), { code: 8 });
    assert.deepEqual(await r.keys(), []);
    assert.deepEqual(await pushRejections(r), { resource_exhausted: 1 }, "refused before the handler ran, counted all the same");
    await createClient(PusherService, createGrpcTransport({ baseUrl: r.url })).push(pushRequest("after"));
    assert.equal((await r.payloads()).length, 1);
  });

  test("gRPC: a Push of more series than its size limit allows, plain or gzip, is resource_exhausted", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { maxBodyBytes: 1024 * 1024 });
    // 70,000 empty series: 140 KB, over the 65,536 objects any limit allows.
    const many = create(PushRequestSchema, { series: Array.from({ length: 70_000 }, () => ({})) });
    for (const transport of [
      createGrpcTransport({ baseUrl: r.url }),
      createGrpcTransport({ baseUrl: r.url, sendCompression: compressionGzip, compressMinBytes: 0 }),
    ]) {
      await assert.rejects(createClient(PusherService, transport).push(many), { code: 8, rawMessage: /more than 65536 objects/ });
    }
    assert.deepEqual(await pushRejections(r), { resource_exhausted: 2 });
    await createClient(PusherService, createGrpcTransport({ baseUrl: r.url })).push(pushRequest("after"));
    assert.equal((await r.payloads()).length, 1);
  });

  test("a Connect Push whose body is complete only after its 408, within the linger, is not stored", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { config: { readTimeoutMs: 300 } });
    const body = Buffer.from(toBinary(PushRequestSchema, pushRequest("late")));
    // The rest comes 500 ms in: after the 408 at 300 ms, while the stream lingers open.
    const res = await within(
      h2Request(
        session(t, r.url),
        { ":method": "POST", ":path": pushPath, "content-type": "application/proto" },
        [body.subarray(0, 10), body.subarray(10)],
        500,
      ),
      5_000,
      "the answer",
    );
    assert.equal(res.headers[":status"], 408);
    await sleep(LINGER_MS);
    assert.deepEqual(await r.keys(), []);
  });

  test("server_read_timeout bounds an HTTP/2 request body too: 408, nothing stored", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { config: { readTimeoutMs: 400 } });
    const drip = Array.from({ length: 100 }, () => Buffer.alloc(10, 2));
    // The body takes 5 s to send (100 chunks 50 ms apart): cut at the deadline, long before its end.
    const res = await within(h2Request(await settledSession(t, r.url), { ":method": "POST", ":path": ingestPath }, drip, 50), 10_000, "the cut");
    t.diagnostic(`answered after ${res.respondedAfterMs} ms, reset after ${res.closedAfterMs} ms`);
    assert.equal(res.headers[":status"], 408);
    assert.equal((JSON.parse(res.body.toString()) as { code: string }).code, "deadline_exceeded");
    assert.ok(res.respondedAfterMs >= 400 && res.respondedAfterMs < 3_000, `answered after ${res.respondedAfterMs} ms`);
    assert.equal(res.rstCode, constants.NGHTTP2_CANCEL);
    assert.ok(res.closedAfterMs < res.respondedAfterMs + LINGER_MS + 1_000, `reset after ${res.closedAfterMs} ms`);
    assert.deepEqual(await r.keys(), []);

    // A gRPC Push dripped past the deadline: the 408 is its one answer, counted once, whatever the
    // handler then makes of the body cut short.
    const frame = grpcFrame(toBinary(PushRequestSchema, pushRequest("late")));
    const chunks = Array.from({ length: Math.ceil(frame.length / 10) }, (_, i) => frame.subarray(i * 10, i * 10 + 10));
    const grpc = await within(
      h2Request(session(t, r.url), { ":method": "POST", ":path": pushPath, "content-type": "application/grpc", te: "trailers" }, chunks, 50),
      5_000,
      "the cut",
    );
    assert.equal(grpc.headers[":status"], 408);
    await sleep(300);
    assert.deepEqual(await pushRejections(r), { deadline_exceeded: 1 });
    assert.deepEqual(await r.keys(), []);
  });

  test("a client that resets its stream mid-body: nothing stored, for /ingest and Push", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const client = session(t, r.url);
    const push = toBinary(PushRequestSchema, pushRequest("reset"));
    for (const [path, body] of [
      [ingestPath, gzippedPprof()],
      [pushPath, push],
    ] as const) {
      const stream = client.request({ ":method": "POST", ":path": path, "content-type": "application/proto" });
      stream.on("error", () => undefined);
      // A prefix that decodes on its own for Push: everything up to the sample's bytes.
      stream.write(body.subarray(0, Math.floor(body.length / 2)));
      await sleep(100);
      // RST_STREAM without END_STREAM (Node's stream.close() would end the body first, making it complete).
      stream.destroy();
    }
    await sleep(300);
    assert.deepEqual(await r.keys(), []);
  });

  test("the http2 block's settings are what the server advertises", async (t) => {
    const r = await startTestReceiver(t, redis, admin, {
      config: {
        http2: {
          ...http2Defaults,
          maxConcurrentStreams: 7,
          maxReadFrameSize: 32_768,
          maxDecoderHeaderTableSize: 8192,
          maxUploadBufferPerStream: 200_000,
        },
      },
    });
    const client = session(t, r.url);
    const settings = await new Promise<ClientHttp2Session["remoteSettings"]>((resolve) => client.once("remoteSettings", resolve));
    assert.equal(settings.maxConcurrentStreams, 7);
    assert.equal(settings.maxFrameSize, 32_768);
    assert.equal(settings.headerTableSize, 8192);
    assert.equal(settings.initialWindowSize, 200_000);
  });

  test("an HTTP/2 session without traffic is closed after the idle timeout", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { config: { http2: { ...http2Defaults, idleTimeoutMs: 300 } } });
    const client = session(t, r.url);
    assert.equal((await h2Request(client, { ":method": "POST", ":path": ingestPath }, [gzippedPprof()])).headers[":status"], 200);
    await within(new Promise((resolve) => client.once("close", resolve)), 3_000, "the idle session to be closed");
  });

  test("a client that connects and sends nothing is disconnected after server_read_timeout", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { config: { readTimeoutMs: 300 } });
    const { port } = new URL(r.url);
    const { connect } = await import("node:net");
    const socket = connect(Number(port), "127.0.0.1");
    socket.on("error", () => undefined);
    t.after(() => socket.destroy());
    await within(new Promise((resolve) => socket.once("close", resolve)), 3_000, "the silent connection to be closed");
  });

  test("a client that drips the h2c preface, a byte every third of server_read_timeout, is disconnected that long after it connected", async (t) => {
    const readTimeoutMs = 600;
    const r = await startTestReceiver(t, redis, admin, { config: { readTimeoutMs } });
    const { port } = new URL(r.url);
    const { connect } = await import("node:net");
    const socket = connect(Number(port), "127.0.0.1");
    socket.on("error", () => undefined);
    t.after(() => socket.destroy());
    await new Promise((resolve) => socket.once("connect", resolve));
    const connected = Date.now();
    const closed = new Promise((resolve) => socket.once("close", resolve));
    void (async () => {
      // Each byte would reset an idle timeout: the whole preface (24 bytes) would take 4.8 s.
      for (const byte of Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1")) {
        if (socket.destroyed) return;
        socket.write(Buffer.of(byte));
        await sleep(readTimeoutMs / 3);
      }
    })();
    await within(closed, 2_500, "the dripping connection to be closed");
    const elapsed = Date.now() - connected;
    assert.ok(elapsed >= readTimeoutMs - 100, `closed ${elapsed} ms after connecting`);
    t.diagnostic(`closed ${elapsed} ms after connecting`);
  });
});

test("http2 { enabled = false } is ignored, as Alloy's receive_http ignores it: h2c is served, and the receiver says so", async (t) => {
  const lines: string[] = [];
  const r = await startTestReceiver(t, redis, admin, {
    config: { http2DisabledIgnored: true },
    logger: createLogger({ level: "warn", destination: { write: (line: string) => void lines.push(line) } }),
  });
  const client = session(t, r.url);
  assert.equal((await h2Request(client, { ":method": "POST", ":path": ingestPath }, [gzippedPprof()])).headers[":status"], 200);
  assert.equal((await r.payloads()).length, 1);
  assert.ok(
    lines.some((line) => /http2 enabled = false is ignored/.test(line)),
    lines.join(""),
  );
});

test("server_read_timeout of 600h, past what Node's timers take (24.8 days), is waited out, not 1 ms: a slow h2c request is served", async (t) => {
  const r = await startTestReceiver(t, redis, admin, { config: { readTimeoutMs: 600 * 3_600_000 } });
  const { hostname, port } = new URL(r.url);
  const socket = netConnect(Number(port), hostname);
  t.after(() => socket.destroy());
  await once(socket, "connect");
  // Quiet before the preface, then between two parts of the body: each waits on a read timer.
  await sleep(100);
  const client = http2Connect(r.url, { createConnection: () => socket });
  client.on("error", () => undefined);
  t.after(() => client.destroy());
  const body = gzippedPprof();
  const res = await within(h2Request(client, { ":method": "POST", ":path": ingestPath }, [body.subarray(0, 10), body.subarray(10)], 100), 3_000, "the answer");
  assert.equal(res.headers[":status"], 200);
  assert.equal((await r.payloads()).length, 1);
});

test("an HTTP/1.1 request beginning like the HTTP/2 preface is still HTTP/1.1 on an h2c port", async (t) => {
  const r = await startTestReceiver(t, redis, admin);
  // "P" is where both could start: POST goes on as HTTP/1.1 once "PO" differs from "PRI".
  const res = await send(r.url, "POST", ingestPath, { "content-type": "application/octet-stream" }, toBinary(PushRequestSchema, pushRequest("x")));
  assert.equal(res.status, 200);
  assert.equal((await r.payloads()).length, 1);
});
