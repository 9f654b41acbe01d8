import assert from "node:assert/strict";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { gzipSync } from "node:zlib";
import { after, describe, test } from "node:test";
import type { TestContext } from "node:test";
import { create, equals, fromBinary, toBinary, toJsonString } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import type { Transport } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { createLogger } from "@pyroscope-relay/ops";
import { PusherService, PushRequestSchema } from "@pyroscope-relay/proto";
import type { PushRequest } from "@pyroscope-relay/proto";
import { gzippedPprof, startRedisServer } from "@pyroscope-relay/testing";
import { adminConnection, send, startTestReceiver, within } from "./test-harness.js";
import type { RawResponse, TestReceiver } from "./test-harness.js";

const redis = await startRedisServer();
const admin = await adminConnection(redis);
after(async () => {
  admin.disconnect();
  await redis.stop();
});

const pushPath = "/push.v1.PusherService/Push";

function pushRequest(seed = 1, labels: Record<string, string> = { __name__: "process_cpu", service_name: "checkout" }): PushRequest {
  return create(PushRequestSchema, {
    series: [
      {
        labels: Object.entries(labels).map(([name, value]) => ({ name, value })),
        samples: [{ rawProfile: gzippedPprof({ seed }), ID: `00000000-0000-4000-8000-00000000000${seed % 10}` }],
      },
    ],
  });
}

function grpcWebFrame(flags: number, message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame[0] = flags;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** The frames of a gRPC-Web response body: data frames and the trailer frame (flag 0x80). */
function grpcWebFrames(body: Buffer): { flags: number; data: Buffer }[] {
  const frames: { flags: number; data: Buffer }[] = [];
  for (let at = 0; at < body.length; ) {
    const length = body.readUInt32BE(at + 1);
    frames.push({ flags: body[at] ?? 0, data: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return frames;
}

function grpcWebTrailer(res: RawResponse): Record<string, string> {
  const trailer = grpcWebFrames(res.body).find((frame) => frame.flags === 0x80);
  assert.ok(trailer, "a trailer frame");
  return Object.fromEntries(
    trailer.data
      .toString("utf8")
      .split("\r\n")
      .filter(Boolean)
      .map((line) => {
        const colon = line.indexOf(":");
        return [line.slice(0, colon).trim().toLowerCase(), decodeURIComponent(line.slice(colon + 1).trim())];
      }),
  );
}

// Hand-made protobuf: the only way to put bytes that are not UTF-8 into a string field.
function varint(n: number): Buffer {
  const bytes: number[] = [];
  for (; n > 0x7f; n >>>= 7) bytes.push((n & 0x7f) | 0x80);
  bytes.push(n);
  return Buffer.from(bytes);
}

function lengthDelimited(field: number, value: Uint8Array): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(value.length), value]);
}

/** `PushRequest{series: [{labels, samples: [{raw_profile}]}]}` from raw label bytes. */
function encodePush(labels: [Uint8Array, Uint8Array][], rawProfile: Uint8Array): Buffer {
  const pairs = labels.map(([name, value]) => lengthDelimited(1, Buffer.concat([lengthDelimited(1, name), lengthDelimited(2, value)])));
  const sample = lengthDelimited(2, lengthDelimited(1, rawProfile));
  return lengthDelimited(1, Buffer.concat([...pairs, sample]));
}

async function pushProto(r: TestReceiver, request: PushRequest = pushRequest()): Promise<RawResponse> {
  return send(r.url, "POST", pushPath, { "content-type": "application/proto" }, toBinary(PushRequestSchema, request));
}

async function storedPushes(r: TestReceiver): Promise<PushRequest[]> {
  return (await r.payloads()).map((payload) => fromBinary(PushRequestSchema, payload.bytes));
}

/** Push requests this receiver counted as rejected with `reason`. */
async function rejected(r: TestReceiver, reason: string): Promise<number> {
  const { values } = await r.metrics.rejectedRequests.get();
  return values.find((v) => v.labels.api === "push" && v.labels.reason === reason)?.value ?? 0;
}

/** Connect's error contract, counted as rejected, nothing stored, and the next good Push stored. */
async function assertRejected(t: TestContext, r: TestReceiver, res: RawResponse, status: number, code: string, message: RegExp): Promise<void> {
  assert.equal(res.status, status, res.body.toString());
  assert.equal(await rejected(r, code), 1, `counted as rejected: ${code}`);
  assert.match(String(res.headers["content-type"]), /^application\/json/);
  assert.equal(Number(res.headers["content-length"] ?? res.body.length), res.body.length);
  const error = res.json as { code: string; message: string };
  assert.equal(error.code, code);
  assert.match(error.message, message);
  assert.deepEqual(await r.keys(), [], "nothing stored for a rejected request");
  const request = pushRequest(9);
  assert.equal((await pushProto(r, request)).status, 200, "the next good Push is served");
  assert.deepEqual(await storedPushes(r), [request]);
  t.diagnostic(`${status} ${error.code}: ${error.message}`);
}

describe("Push stores the request as binary protobuf", () => {
  test("Connect proto: 200 application/proto with an empty body, one payload, one segment per target", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { targets: ["alpha", "beta/1"] });
    const request = pushRequest(1);
    const before = Date.now();
    const res = await send(
      r.url,
      "POST",
      pushPath,
      {
        "content-type": "application/proto",
        "connect-protocol-version": "1",
        "x-scope-orgid": "team-a",
      },
      toBinary(PushRequestSchema, request),
    );
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.headers["content-type"], "application/proto");
    assert.equal(res.body.length, 0);

    const [payload, ...others] = await r.payloads();
    assert.ok(payload);
    assert.equal(others.length, 0);
    assert.ok(equals(PushRequestSchema, fromBinary(PushRequestSchema, payload.bytes), request));
    assert.deepEqual(payload.targets, ["alpha", "beta/1"]);
    for (const target of r.targets) {
      const [segment, ...more] = await r.segments(target);
      assert.ok(segment, target);
      assert.equal(more.length, 0);
      assert.equal(segment.batch, payload.batchId);
      const [{ receivedAt, ...ref }] = segment.profiles as [(typeof segment.profiles)[number]];
      assert.ok(receivedAt >= before && receivedAt <= Date.now());
      assert.deepEqual(ref, {
        kind: "push",
        index: 0,
        offset: 0,
        size: payload.bytes.length,
        tenant: "team-a",
        codec: "proto",
        series: request.series.length,
        samples: 1,
        rawBytes: request.series[0]!.samples[0]!.rawProfile.length,
      });
    }
  });

  test("Connect JSON: 200 application/json `{}`, stored as binary", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const request = pushRequest(2);
    const res = await send(
      r.url,
      "POST",
      pushPath,
      { "content-type": "application/json; charset=utf-8" },
      Buffer.from(toJsonString(PushRequestSchema, request)),
    );
    assert.equal(res.status, 200, res.body.toString());
    assert.match(String(res.headers["content-type"]), /^application\/json/);
    assert.deepEqual(res.json, {});
    assert.deepEqual(await storedPushes(r), [request]);
    const [segment] = await r.segments("alpha");
    const ref = segment?.profiles[0];
    assert.equal(ref?.kind === "push" && ref.codec, "json");
    assert.equal(ref?.kind === "push" && ref.rawBytes, request.series[0]!.samples[0]!.rawProfile.length, "the raw profile's bytes, not its base64");
    assert.equal(ref?.tenant, undefined);
  });

  test("Connect with a gzip request body: stored uncompressed", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const request = pushRequest(3);
    const binary = toBinary(PushRequestSchema, request);
    const res = await send(r.url, "POST", pushPath, { "content-type": "application/proto", "content-encoding": "gzip" }, gzipSync(binary));
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.headers["content-type"], "application/proto");
    const [payload] = await r.payloads();
    assert.ok(payload?.bytes.equals(binary));
  });

  test("gRPC-Web: 200 with grpc-status 0, stored as binary", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const request = pushRequest(4);
    const res = await send(
      r.url,
      "POST",
      pushPath,
      { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      grpcWebFrame(0, toBinary(PushRequestSchema, request)),
    );
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.headers["content-type"], "application/grpc-web+proto");
    assert.equal(grpcWebTrailer(res)["grpc-status"], "0");
    assert.deepEqual(await storedPushes(r), [request]);
  });

  test("real Connect and gRPC-Web clients are served", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const transports: [string, Transport][] = [
      ["connect proto", createConnectTransport({ baseUrl: r.url, httpVersion: "1.1" })],
      ["connect json", createConnectTransport({ baseUrl: r.url, httpVersion: "1.1", useBinaryFormat: false })],
      ["connect gzip", createConnectTransport({ baseUrl: r.url, httpVersion: "1.1", sendCompression: compressionGzip, compressMinBytes: 0 })],
      ["grpc-web", createGrpcWebTransport({ baseUrl: r.url, httpVersion: "1.1" })],
    ];
    const sent: PushRequest[] = [];
    for (const [i, [name, transport]] of transports.entries()) {
      const request = pushRequest(10 + i, { __name__: "memory", service_name: name.replace(" ", "-") });
      await createClient(PusherService, transport).push(request);
      sent.push(request);
    }
    const stored = await storedPushes(r);
    const byService = (p: PushRequest) => p.series[0]?.labels.find((l) => l.name === "service_name")?.value ?? "";
    assert.deepEqual(
      stored.sort((a, b) => byService(a).localeCompare(byService(b))),
      sent.sort((a, b) => byService(a).localeCompare(byService(b))),
    );
  });

  test("series without samples are dropped; a request with none stores nothing", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const empty = await pushProto(r, create(PushRequestSchema, {}));
    assert.equal(empty.status, 200);
    const noSamples = create(PushRequestSchema, { series: [{ labels: [{ name: "__name__", value: "cpu" }], samples: [] }] });
    assert.equal((await pushProto(r, noSamples)).status, 200);
    assert.deepEqual(await r.keys(), []);

    const expected = pushRequest(5);
    const mixed = create(PushRequestSchema, { series: [...noSamples.series, ...expected.series] });
    assert.equal((await pushProto(r, mixed)).status, 200);
    assert.deepEqual(await storedPushes(r), [expected]);
  });

  test("gRPC-Web whose body arrives a byte a read (chunked, 1-byte chunks): decoded and stored", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const request = pushRequest(7);
    const body = grpcWebFrame(0, toBinary(PushRequestSchema, request));
    const { port } = new URL(r.url);
    const socket = connect(Number(port), "127.0.0.1");
    socket.setNoDelay(true);
    let answer = "";
    socket
      .setEncoding("latin1")
      .on("data", (text: string) => (answer += text))
      .on("error", () => undefined);
    t.after(() => socket.destroy());
    socket.write(`POST ${pushPath} HTTP/1.1\r\nHost: x\r\nContent-Type: application/grpc-web+proto\r\nTransfer-Encoding: chunked\r\n\r\n`);
    for (const byte of body) {
      socket.write(Buffer.concat([Buffer.from("1\r\n"), Buffer.of(byte), Buffer.from("\r\n")]));
      // A turn of the event loop between bytes: the receiver reads most of them one at a time.
      await new Promise((resolve) => setImmediate(resolve));
    }
    socket.write("0\r\n\r\n");
    await within(
      (async () => {
        while (!/grpc-status/.test(answer)) await sleep(5);
      })(),
      5_000,
      "the answer",
    );
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /grpc-status: ?0\r\n/);
    assert.deepEqual(await storedPushes(r), [request]);
  });

  test("a hand-encoded request decodes to what protobuf-es encodes", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const profile = gzippedPprof({ seed: 6 });
    const body = encodePush(
      [
        [Buffer.from("__name__"), Buffer.from("cpu")],
        [Buffer.from("service_name"), Buffer.from("büro")],
      ],
      profile,
    );
    const res = await send(r.url, "POST", pushPath, { "content-type": "application/proto" }, body);
    assert.equal(res.status, 200, res.body.toString());
    const [payload] = await r.payloads();
    assert.ok(payload?.bytes.equals(body));
  });
});

describe("Push rejects, stores nothing and keeps serving", () => {
  test("invalid protobuf over Connect: 400 invalid_argument", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const res = await send(r.url, "POST", pushPath, { "content-type": "application/proto" }, Buffer.from([0x0a, 0xff, 0xff, 0x01]));
    await assertRejected(t, r, res, 400, "invalid_argument", /parse binary/);
  });

  test("a gzip body cut short over Connect: 400 invalid_argument, not a retried internal", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const gzipped = gzipSync(encodePush([[Buffer.from("__name__"), Buffer.from("cpu")]], gzippedPprof()));
    const cut = gzipped.subarray(0, gzipped.length - 12);
    const res = await send(r.url, "POST", pushPath, { "content-type": "application/proto", "content-encoding": "gzip" }, cut);
    await assertRejected(t, r, res, 400, "invalid_argument", /decompression failed/);
  });

  test("X-Scope-OrgID `team-a,team-b` on one line, a tenant Pyroscope refuses: 400 invalid_argument; on two lines the first is the tenant", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const body = toBinary(PushRequestSchema, pushRequest());
    const res = await send(r.url, "POST", pushPath, { "content-type": "application/proto", "x-scope-orgid": "team-a,team-b" }, body);
    await assertRejected(t, r, res, 400, "invalid_argument", /X-Scope-OrgID/);
    const twoLines = await send(r.url, "POST", pushPath, { "content-type": "application/proto", "x-scope-orgid": ["team-c", "team-d"] }, body);
    assert.equal(twoLines.status, 200, twoLines.body.toString());
    const tenants = (await r.segments("alpha")).flatMap((segment) => segment.profiles.map((ref) => ref.tenant));
    assert.deepEqual(tenants.sort(), ["team-c", undefined], "the good Push assertRejected sent has none");
  });

  test("invalid JSON over Connect: 400 invalid_argument", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const res = await send(r.url, "POST", pushPath, { "content-type": "application/json" }, Buffer.from('{"series": ['));
    await assertRejected(t, r, res, 400, "invalid_argument", /JSON/);
  });

  test("invalid protobuf over gRPC-Web: grpc-status 3", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const res = await send(r.url, "POST", pushPath, { "content-type": "application/grpc-web+proto" }, grpcWebFrame(0, Buffer.from([0x0a, 0xff, 0xff, 0x01])));
    assert.equal(res.status, 200);
    const trailer = grpcWebTrailer(res);
    assert.equal(trailer["grpc-status"], "3", JSON.stringify(trailer));
    assert.match(trailer["grpc-message"] ?? "", /parse binary/);
    assert.equal(await rejected(r, "invalid_argument"), 1);
    assert.deepEqual(await r.keys(), []);
    assert.equal((await pushProto(r)).status, 200);
    assert.equal((await r.payloads()).length, 1);
  });

  test("a gzip message cut short over gRPC-Web: grpc-status 3", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const gzipped = gzipSync(encodePush([[Buffer.from("__name__"), Buffer.from("cpu")]], gzippedPprof()));
    const res = await send(
      r.url,
      "POST",
      pushPath,
      { "content-type": "application/grpc-web+proto", "grpc-encoding": "gzip" },
      grpcWebFrame(1, gzipped.subarray(0, gzipped.length - 12)),
    );
    const trailer = grpcWebTrailer(res);
    assert.equal(trailer["grpc-status"], "3", JSON.stringify(trailer));
    assert.equal(await rejected(r, "invalid_argument"), 1);
    assert.deepEqual(await r.keys(), []);
  });

  test("a label value that is not UTF-8: 400 invalid_argument", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const body = encodePush(
      [
        [Buffer.from("__name__"), Buffer.from("cpu")],
        [Buffer.from("service_name"), Buffer.from([0x63, 0xff, 0xfe])],
      ],
      gzippedPprof(),
    );
    const res = await send(r.url, "POST", pushPath, { "content-type": "application/proto" }, body);
    await assertRejected(t, r, res, 400, "invalid_argument", /UTF-8|utf-8/);
  });

  test("a label value that is not UTF-8 in a JSON Push: 400 invalid_argument, as Pyroscope's protojson refuses it", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const json = toJsonString(PushRequestSchema, pushRequest(1, { __name__: "cpu", service_name: "caf-e" }));
    const [before, after] = json.split("caf-e") as [string, string];
    // "café" in Latin-1: a raw 0xE9, which no JSON encoder writes and UTF-8 does not allow there.
    const body = Buffer.concat([Buffer.from(before), Buffer.from([0x63, 0x61, 0x66, 0xe9]), Buffer.from(after)]);
    const res = await send(r.url, "POST", pushPath, { "content-type": "application/json" }, body);
    await assertRejected(t, r, res, 400, "invalid_argument", /UTF-8|utf-8/);
  });

  test("an invalid label name: 400 invalid_argument naming it", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const res = await pushProto(r, pushRequest(1, { __name__: "cpu", "bad-label": "x" }));
    await assertRejected(t, r, res, 400, "invalid_argument", /bad-label/);
  });

  test("an invalid label name over a real Connect client: ConnectError invalid_argument", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const client = createClient(PusherService, createConnectTransport({ baseUrl: r.url, httpVersion: "1.1" }));
    await assert.rejects(client.push(pushRequest(1, { __name__: "cpu", "": "x" })), { name: "ConnectError", code: 3 });
    assert.deepEqual(await r.keys(), []);
  });

  test("a fault of the relay's: internal, its detail logged and not answered, counted; /ingest alike with 500", async (t) => {
    const lines: string[] = [];
    const r = await startTestReceiver(t, redis, admin, {
      logger: createLogger({ level: "error", destination: { write: (line: string) => void lines.push(line) } }),
      forwardsClientTenant: () => {
        throw new Error("tenant rule broke: detail for the log only");
      },
    });
    const res = await send(
      r.url,
      "POST",
      pushPath,
      { "content-type": "application/proto", "x-scope-orgid": "not valid" },
      toBinary(PushRequestSchema, pushRequest()),
    );
    assert.equal(res.status, 500);
    assert.deepEqual(res.json, { code: "internal", message: "internal error: the request was not stored" });
    const ingested = await send(r.url, "POST", "/ingest?name=app&format=pprof", { "x-scope-orgid": "not valid" }, gzippedPprof());
    assert.equal(ingested.status, 500);
    assert.deepEqual(ingested.json, { code: "internal", message: "internal error: the request was not stored" });
    assert.deepEqual(await r.keys(), []);
    const logged = lines.map((line) => JSON.parse(line) as { api: string; err: { message: string } });
    assert.deepEqual(
      logged.map((entry) => [entry.api, entry.err.message]),
      [
        ["push", "tenant rule broke: detail for the log only"],
        ["ingest", "tenant rule broke: detail for the log only"],
      ],
    );
    const { values } = await r.metrics.rejectedRequests.get();
    assert.deepEqual(
      values.map((v) => [v.labels.api, v.labels.reason, v.value]),
      [
        ["push", "internal", 1],
        ["ingest", "internal", 1],
      ],
    );
  });

  test("an unsupported content type: 415", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const res = await send(r.url, "POST", pushPath, { "content-type": "text/plain" }, toBinary(PushRequestSchema, pushRequest()));
    assert.equal(res.status, 415);
    // No Connect error body: a client reads an unexpected 415 as `unknown`.
    assert.equal(await rejected(r, "unknown"), 1);
    assert.deepEqual(await r.keys(), []);
    assert.equal((await pushProto(r)).status, 200);
  });

  test("a body over the limit: resource_exhausted", async (t) => {
    const limit = 8 * 1024;
    const r = await startTestReceiver(t, redis, admin, { maxBodyBytes: limit });
    const big = create(PushRequestSchema, { series: [{ labels: [{ name: "__name__", value: "cpu" }], samples: [{ rawProfile: Buffer.alloc(limit, 1) }] }] });
    const res = await pushProto(r, big);
    await assertRejected(t, r, res, 429, "resource_exhausted", /exceed|max/i);

    const client = createClient(PusherService, createConnectTransport({ baseUrl: r.url, httpVersion: "1.1" }));
    await assert.rejects(client.push(big), { name: "ConnectError", code: 8 });
    const grpcWeb = await send(r.url, "POST", pushPath, { "content-type": "application/grpc-web+proto" }, grpcWebFrame(0, toBinary(PushRequestSchema, big)));
    assert.equal(grpcWebTrailer(grpcWeb)["grpc-status"], "8");
    assert.equal((await r.payloads()).length, 1, "only the good Push of assertRejected");
    assert.equal(await rejected(r, "resource_exhausted"), 3, "Connect, its client and gRPC-Web: each counted once");
  });

  describe("a Push that would decode into more objects than its size limit allows: resource_exhausted, decoded by no codec", () => {
    const limit = 4 * 1024 * 1024;
    // 100,000 empty series: 200 KB that decode into ~18 MB of objects, over the 87,381 a 4 MiB limit allows.
    const emptySeries = Buffer.alloc(200_000, Buffer.from([0x0a, 0x00]));
    const message = /more than 87381 objects \(series, labels, annotations, samples, unknown fields\): more than its size limit of 4194304 bytes allows/;

    test("Connect proto, plain and gzip", async (t) => {
      const r = await startTestReceiver(t, redis, admin, { maxBodyBytes: limit });
      await assertRejected(t, r, await send(r.url, "POST", pushPath, { "content-type": "application/proto" }, emptySeries), 429, "resource_exhausted", message);
      const gzipped = await send(r.url, "POST", pushPath, { "content-type": "application/proto", "content-encoding": "gzip" }, gzipSync(emptySeries));
      assert.equal(gzipped.status, 429, gzipped.body.toString());
      assert.match((gzipped.json as { message: string }).message, message);
      assert.equal(await rejected(r, "resource_exhausted"), 2);
    });

    test("Connect JSON, plain and gzip", async (t) => {
      const r = await startTestReceiver(t, redis, admin, { maxBodyBytes: limit });
      const json = Buffer.from(`{"series":[${Array(100_000).fill("{}").join(",")}]}`);
      await assertRejected(
        t,
        r,
        await send(r.url, "POST", pushPath, { "content-type": "application/json" }, json),
        429,
        "resource_exhausted",
        /more than 87381/,
      );
      const gzipped = await send(r.url, "POST", pushPath, { "content-type": "application/json", "content-encoding": "gzip" }, gzipSync(json));
      assert.equal(gzipped.status, 429, gzipped.body.toString());
      // Members the schema does not know: a parser builds each all the same.
      const unknown = Buffer.from(`{${Array.from({ length: 100_000 }, (_, i) => `"k${i}":0`).join(",")},"series":[]}`);
      const members = await send(r.url, "POST", pushPath, { "content-type": "application/json" }, unknown);
      assert.equal(members.status, 429, members.body.toString());
    });

    test("gRPC-Web, plain and gzip, and a second message after a first within the limit", async (t) => {
      const r = await startTestReceiver(t, redis, admin, { maxBodyBytes: limit });
      const good = toBinary(PushRequestSchema, pushRequest());
      const bodies: [string, Record<string, string>, Buffer][] = [
        ["plain", {}, grpcWebFrame(0, emptySeries)],
        ["gzip", { "grpc-encoding": "gzip" }, grpcWebFrame(1, gzipSync(emptySeries))],
        ["second message", {}, Buffer.concat([grpcWebFrame(0, good), grpcWebFrame(0, emptySeries)])],
        // connect-es decodes a second message before it refuses it: the two count together.
        [
          "two messages, each within the limit",
          {},
          Buffer.concat([grpcWebFrame(0, emptySeries.subarray(0, 100_000)), grpcWebFrame(0, emptySeries.subarray(0, 100_000))]),
        ],
      ];
      for (const [name, headers, body] of bodies) {
        const res = await send(r.url, "POST", pushPath, { "content-type": "application/grpc-web+proto", ...headers }, body);
        const trailer = grpcWebTrailer(res);
        assert.equal(trailer["grpc-status"], "8", `${name}: ${JSON.stringify(trailer)}`);
        assert.match(trailer["grpc-message"] ?? "", message, name);
      }
      assert.equal(await rejected(r, "resource_exhausted"), 4);
      assert.deepEqual(await r.keys(), []);
    });

    test("at the default 32 MiB limit: a 33 KB gzip of 16 million empty series", async (t) => {
      const r = await startTestReceiver(t, redis, admin, { maxBodyBytes: 32 * 1024 * 1024 });
      const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024 - 64, Buffer.from([0x0a, 0x00])), { level: 9 });
      assert.ok(bomb.length < 40_000, `${bomb.length} bytes`);
      const res = await send(r.url, "POST", pushPath, { "content-type": "application/proto", "content-encoding": "gzip" }, bomb);
      await assertRejected(t, r, res, 429, "resource_exhausted", /more than 699050 objects/);
    });

    test("a Push of 1,000 series of 80 labels each, 82,000 objects in all, is stored", async (t) => {
      const r = await startTestReceiver(t, redis, admin, { maxBodyBytes: limit });
      const labels = (s: number) => [{ name: "__name__", value: "cpu" }, ...Array.from({ length: 79 }, (_, i) => ({ name: `l${i}`, value: `${s}` }))];
      const series = Array.from({ length: 1000 }, (_, s) => ({ labels: labels(s), samples: [{ rawProfile: Buffer.of(s % 256) }] }));
      const request = create(PushRequestSchema, { series });
      const res = await pushProto(r, request);
      assert.equal(res.status, 200, res.body.toString());
      assert.deepEqual(await storedPushes(r), [request]);
    });
  });

  test("a chunked body over the limit: resource_exhausted before the body ends", async (t) => {
    const limit = 8 * 1024;
    const r = await startTestReceiver(t, redis, admin, { maxBodyBytes: limit });
    const { port } = new URL(r.url);
    const socket = connect(Number(port), "127.0.0.1");
    let answer = "";
    socket
      .setEncoding("latin1")
      .on("data", (chunk: string) => (answer += chunk))
      .on("error", () => undefined);
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    try {
      socket.write(`POST ${pushPath} HTTP/1.1\r\nHost: x\r\nContent-Type: application/proto\r\nTransfer-Encoding: chunked\r\n\r\n`);
      // Never terminated: only a server that stops at the limit can answer.
      for (let sent = 0; !answer.includes("}") && sent < 64 * limit; sent += 4096) {
        socket.write(`1000\r\n${"x".repeat(4096)}\r\n`);
        await sleep(1);
      }
      assert.match(answer, /^HTTP\/1\.1 429 /);
      assert.equal((JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as { code: string }).code, "resource_exhausted");
      // The rest of the body is not read: the server closes, instead of idling until the read timeout.
      assert.match(answer, /\r\nconnection: close\r\n/i);
      await within(closed, 2_000, "the server to close the connection");
    } finally {
      socket.destroy();
    }
    assert.deepEqual(await r.keys(), []);
    assert.equal((await pushProto(r)).status, 200);
  });
});
