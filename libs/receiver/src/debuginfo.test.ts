import assert from "node:assert/strict";
import { once } from "node:events";
import { request as httpRequest } from "node:http";
import { after, describe, test } from "node:test";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { gunzipSync, gzipSync } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import {
  DebuginfoService,
  FileMetadata_Type,
  ShouldInitiateUploadRequestSchema,
  ShouldInitiateUploadResponseSchema,
  UploadFinishedRequestSchema,
} from "@pyroscope-relay/proto";
import { startFakeTarget, startRedisServer } from "@pyroscope-relay/testing";
import type { FakeTarget, RecordedRequest } from "@pyroscope-relay/testing";
import { adminConnection, send, startTestReceiver, within } from "./test-harness.js";
import type { HarnessOptions, TestReceiver } from "./test-harness.js";
import { testUpstream } from "./test-upstream.js";

const redis = await startRedisServer();
const admin = await adminConnection(redis);
after(async () => {
  admin.disconnect();
  await redis.stop();
});

const uploadPath = (buildId: string) => `/debuginfo.v1alpha1.DebuginfoService/Upload/${buildId}`;
const file = { gnuBuildId: "2f5e1c", goBuildId: "go-1", otelFileId: "", name: "checkout", type: FileMetadata_Type.EXECUTABLE_FULL };

/** Answers the two debuginfo calls as Pyroscope does (binary Connect); uploads get the default 200. */
function pyroscopeDebuginfo(target: FakeTarget, shouldInitiateUpload = true): void {
  target.respond((request) => {
    if (request.path.endsWith("/ShouldInitiateUpload")) {
      const body = toBinary(ShouldInitiateUploadResponseSchema, create(ShouldInitiateUploadResponseSchema, { shouldInitiateUpload, reason: "not stored yet" }));
      return { status: 200, headers: { "content-type": "application/proto" }, body: Buffer.from(body) };
    }
    if (request.path.endsWith("/UploadFinished")) return { status: 200, headers: { "content-type": "application/proto" } };
    return undefined;
  });
}

/** A POST of `path` exactly as written: a URL would take its dot segments away before it is sent. */
function postRawPath(url: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, method: "POST", agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(Buffer.alloc(1));
  });
}

async function fakeTarget(t: TestContext): Promise<FakeTarget> {
  const target = await startFakeTarget();
  t.after(() => target.close());
  return target;
}

/**
 * A receiver passing debuginfo to `upstreamUrl` (none: no upstream). The upstream here is a plain
 * test client; the target's own HTTP client (auth, tenant rule, TLS, proxies) is libs/delivery's
 * `debuginfoUpstream`, tested there.
 */
async function proxy(t: TestContext, upstreamUrl: string | undefined, options: HarnessOptions = {}): Promise<TestReceiver> {
  return startTestReceiver(t, redis, admin, { ...options, ...(upstreamUrl === undefined ? {} : { debuginfo: testUpstream(upstreamUrl) }) });
}

function debuginfoClient(transport: Transport) {
  return createClient(DebuginfoService, transport);
}

describe("debuginfo calls pass through to the first target", () => {
  test("ShouldInitiateUpload and UploadFinished: the target's answers, below its URL path, as binary Connect; the client's tenant", async (t) => {
    const fake = await fakeTarget(t);
    pyroscopeDebuginfo(fake);
    const r = await proxy(t, `${fake.url}/base/`);
    const client = debuginfoClient(createConnectTransport({ baseUrl: r.url, httpVersion: "1.1", useBinaryFormat: false }));

    const answer = await client.shouldInitiateUpload({ file }, { headers: { "X-Scope-OrgID": "team-d", Authorization: "Bearer client-secret" } });
    assert.equal(answer.shouldInitiateUpload, true);
    assert.equal(answer.reason, "not stored yet");
    await client.uploadFinished({ gnuBuildId: "2f5e1c" });

    const [should, finished] = fake.requests as [RecordedRequest, RecordedRequest];
    assert.equal(should.path, "/base/debuginfo.v1alpha1.DebuginfoService/ShouldInitiateUpload");
    assert.equal(should.headers["content-type"], "application/proto", "binary Connect, whatever the client spoke");
    assert.equal(should.headers["x-scope-orgid"], "team-d");
    assert.equal(should.headers.authorization, undefined, "the client's credentials are not passed on");
    assert.deepEqual(fromBinary(ShouldInitiateUploadRequestSchema, should.body).file, create(ShouldInitiateUploadRequestSchema, { file }).file);
    assert.equal(finished.path, "/base/debuginfo.v1alpha1.DebuginfoService/UploadFinished");
    assert.equal(fromBinary(UploadFinishedRequestSchema, finished.body).gnuBuildId, "2f5e1c");
    assert.equal(finished.headers["x-scope-orgid"], undefined, "no tenant from a client that sent none");
    assert.deepEqual(await r.keys(), [], "nothing is queued");
  });

  test("fields the schema does not have pass on, as Alloy passes them; a request over 64 KiB is resource_exhausted, whatever the body limit", async (t) => {
    const fake = await fakeTarget(t);
    pyroscopeDebuginfo(fake);
    const r = await proxy(t, fake.url, { maxBodyBytes: 32 * 1024 * 1024 });
    const known = Buffer.from(toBinary(ShouldInitiateUploadRequestSchema, create(ShouldInitiateUploadRequestSchema, { file })));
    const path = "/debuginfo.v1alpha1.DebuginfoService/ShouldInitiateUpload";
    // A newer client's field 15.
    const body = Buffer.concat([known, Buffer.from([0x78, 0x07])]);
    const res = await send(r.url, "POST", path, { "content-type": "application/proto" }, body);
    assert.equal(res.status, 200, res.body.toString());
    const [should] = fake.requests as [RecordedRequest];
    assert.deepEqual(should.body, body);
    // 40,000 unknown fields: each decoded would be an object of ~150 bytes.
    const many = Buffer.concat([known, Buffer.alloc(80_000, Buffer.from([0x78, 0x00]))]);
    const refused = await send(r.url, "POST", path, { "content-type": "application/proto", "content-encoding": "gzip" }, gzipSync(many));
    assert.equal(refused.status, 429, refused.body.toString());
    assert.equal((refused.json as { code: string }).code, "resource_exhausted");
    assert.equal(fake.requests.length, 1);
  });

  test("over HTTP/2 (h2c) too, native gRPC and Connect", async (t) => {
    const fake = await fakeTarget(t);
    pyroscopeDebuginfo(fake, false);
    const r = await proxy(t, fake.url);
    const answer = await debuginfoClient(createGrpcTransport({ baseUrl: r.url })).shouldInitiateUpload({ file });
    assert.equal(answer.shouldInitiateUpload, false);
    const overConnect = await debuginfoClient(createConnectTransport({ baseUrl: r.url, httpVersion: "2" })).shouldInitiateUpload({ file });
    assert.equal(overConnect.shouldInitiateUpload, false);
    assert.equal(fake.requests.length, 2);
  });

  test("the target's error reaches the client with its code (HTTP/1.1 and HTTP/2); an unreachable target is unavailable", async (t) => {
    const fake = await fakeTarget(t);
    const r = await proxy(t, fake.url);
    const answers = [
      {
        status: 403,
        headers: { "content-type": "application/json", "x-target-only": "1" },
        body: JSON.stringify({ code: "permission_denied", message: "no tenant" }),
      },
      // Not a Connect answer at all: the client's Connect library says unknown, with the target's headers attached.
      { status: 200, headers: { "x-target-only": "1" } },
    ];
    for (const [code, message, answer] of [
      [Code.PermissionDenied, /no tenant/, answers[0]!],
      [Code.Unknown, /unsupported content type/, answers[1]!],
    ] as const) {
      fake.respond(() => answer);
      for (const transport of [
        createConnectTransport({ baseUrl: r.url, httpVersion: "1.1" }),
        createConnectTransport({ baseUrl: r.url, httpVersion: "2" }),
        createGrpcTransport({ baseUrl: r.url }),
      ]) {
        await assert.rejects(debuginfoClient(transport).shouldInitiateUpload({ file }), (err: unknown) => {
          assert.ok(err instanceof ConnectError);
          assert.equal(err.code, code);
          assert.match(err.rawMessage, message);
          // The target's response headers (its connection headers among them, forbidden on HTTP/2) stay with it.
          assert.equal(err.metadata.get("x-target-only"), null);
          return true;
        });
      }
    }

    const down = await proxy(t, "http://127.0.0.1:1");
    const toDown = debuginfoClient(createConnectTransport({ baseUrl: down.url, httpVersion: "1.1" }));
    await assert.rejects(toDown.uploadFinished({ gnuBuildId: "x" }), { code: Code.Unavailable });
  });

  test("remote_timeout 0 is no timeout, as for profile delivery: the calls pass through", async (t) => {
    const fake = await fakeTarget(t);
    pyroscopeDebuginfo(fake);
    const r = await startTestReceiver(t, redis, admin, { debuginfo: testUpstream(fake.url, { callTimeoutMs: 0 }) });
    const client = debuginfoClient(createConnectTransport({ baseUrl: r.url, httpVersion: "1.1" }));
    assert.equal((await client.shouldInitiateUpload({ file })).shouldInitiateUpload, true);
    await client.uploadFinished({ gnuBuildId: "2f5e1c" });
    assert.equal(fake.requests.length, 2);
    assert.equal(fake.requests[0]?.headers["connect-timeout-ms"], undefined, "no deadline passed on");
  });

  test("a target's long error, answered compressed to a client that accepts gzip, is counted with its code", async (t) => {
    const fake = await fakeTarget(t);
    const message = `no such tenant: ${"x".repeat(2_000)}`;
    fake.respond(() => ({ status: 403, headers: { "content-type": "application/json" }, body: JSON.stringify({ code: "permission_denied", message }) }));
    const r = await proxy(t, fake.url);
    const body = toBinary(ShouldInitiateUploadRequestSchema, create(ShouldInitiateUploadRequestSchema, { file }));
    const res = await send(
      r.url,
      "POST",
      "/debuginfo.v1alpha1.DebuginfoService/ShouldInitiateUpload",
      { "content-type": "application/proto", "accept-encoding": "gzip" },
      body,
    );
    assert.equal(res.status, 403);
    assert.equal(res.headers["content-encoding"], "gzip", "the path under test: a compressed error body");
    assert.deepEqual(JSON.parse(gunzipSync(res.body).toString()), { code: "permission_denied", message });
    const { values } = await r.metrics.rejectedRequests.get();
    assert.deepEqual(
      values.map((v) => [v.labels.reason, v.value]),
      [["permission_denied", 1]],
    );
  });

  test("without an upstream: unavailable, `no downstream endpoints available`", async (t) => {
    const r = await proxy(t, undefined);
    const client = debuginfoClient(createConnectTransport({ baseUrl: r.url, httpVersion: "1.1" }));
    await assert.rejects(client.shouldInitiateUpload({ file }), (err: unknown) => {
      assert.ok(err instanceof ConnectError);
      assert.equal(err.code, Code.Unavailable);
      assert.equal(err.rawMessage, "no downstream endpoints available");
      return true;
    });
    const { values } = await r.metrics.rejectedRequests.get();
    assert.deepEqual(
      values.map((v) => v.labels),
      [{ component: "pyroscope.receive_http.test", api: "debuginfo", reason: "unavailable" }],
      "counted once, its reason as Connect writes it",
    );
  });

  test("an invalid X-Scope-OrgID is invalid_argument, and nothing reaches the target", async (t) => {
    const fake = await fakeTarget(t);
    pyroscopeDebuginfo(fake);
    const r = await proxy(t, fake.url);
    const client = debuginfoClient(createConnectTransport({ baseUrl: r.url, httpVersion: "1.1" }));
    await assert.rejects(client.uploadFinished({ gnuBuildId: "x" }, { headers: { "X-Scope-OrgID": "a b" } }), { code: Code.InvalidArgument });
    assert.equal(fake.requests.length, 0);
  });

  test("where the target sends a tenant of its own, a client's tenant Pyroscope refuses is passed on as none, as Alloy takes it", async (t) => {
    const fake = await fakeTarget(t);
    pyroscopeDebuginfo(fake);
    const asked: string[][] = [];
    const r = await proxy(t, fake.url, {
      forwardsClientTenant: (targets) => {
        asked.push([...targets]);
        return false;
      },
    });
    const client = debuginfoClient(createConnectTransport({ baseUrl: r.url, httpVersion: "1.1" }));
    await client.uploadFinished({ gnuBuildId: "x" }, { headers: { "X-Scope-OrgID": "a b" } });
    assert.equal(fake.requests.length, 1);
    assert.equal(fake.requests[0]!.headers["x-scope-orgid"], undefined);
    assert.deepEqual(asked, [["pyroscope"]], "asked about the target debuginfo goes to");
  });
});

describe("POST /debuginfo.v1alpha1.DebuginfoService/Upload/{gnu_build_id} passes through", () => {
  test("the body streams to the target byte for byte (larger than the profile size limit): 200", async (t) => {
    const fake = await fakeTarget(t);
    const r = await proxy(t, `${fake.url}/base`);
    const elf = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < elf.length; i += 4096) elf[i] = i % 251;
    const res = await send(
      r.url,
      "POST",
      uploadPath("2f5e%2F1c"),
      { "content-type": "application/octet-stream", "x-scope-orgid": "team-u", authorization: "Bearer client-secret" },
      elf,
    );
    assert.equal(res.status, 200, res.body.toString());
    const [upload] = fake.requests;
    assert.ok(upload);
    assert.equal(upload.path, "/base/debuginfo.v1alpha1.DebuginfoService/Upload/2f5e%2F1c");
    assert.ok(upload.body.equals(elf), "the body byte for byte");
    assert.equal(upload.headers["x-scope-orgid"], "team-u");
    assert.equal(upload.headers.authorization, undefined, "the client's credentials are not passed on");
    assert.equal(upload.headers["content-type"], "application/octet-stream");
    assert.deepEqual(await r.keys(), []);
  });

  test("redirected by a reload: the next call goes to the new upstream; without one, 503", async (t) => {
    const [before, after] = [await fakeTarget(t), await fakeTarget(t)];
    for (const target of [before, after]) pyroscopeDebuginfo(target);
    const r = await proxy(t, before.url);
    const client = debuginfoClient(createConnectTransport({ baseUrl: r.url, httpVersion: "1.1", useBinaryFormat: false }));
    await client.shouldInitiateUpload({ file });
    r.receiver.redirectDebuginfo(testUpstream(after.url));
    await client.shouldInitiateUpload({ file });
    assert.equal((await send(r.url, "POST", uploadPath("abc"), {}, Buffer.alloc(10, 1))).status, 200);
    assert.deepEqual([before.requests.length, after.requests.length], [1, 2]);
    r.receiver.redirectDebuginfo(undefined);
    await assert.rejects(client.shouldInitiateUpload({ file }), /no downstream endpoints available/);
  });

  test("an upload under way when a reload redirects the calls finishes on the upstream it started on", async (t) => {
    const [before, after] = [await fakeTarget(t), await fakeTarget(t)];
    before.hold();
    const r = await proxy(t, before.url);
    const upload = send(r.url, "POST", uploadPath("under-way"), {}, Buffer.alloc(1_000, 1));
    while (before.requests.length === 0) await sleep(10);
    r.receiver.redirectDebuginfo(testUpstream(after.url));
    before.release();
    assert.equal((await upload).status, 200);
    assert.equal(after.requests.length, 0);
  });

  test("without timeouts (debug_info_upload_timeout and remote_timeout 0), an upload under way when a reload redirects the calls still finishes", async (t) => {
    const [before, after] = [await fakeTarget(t), await fakeTarget(t)];
    before.hold();
    const r = await startTestReceiver(t, redis, admin, {
      config: { debugInfoUploadTimeoutMs: 0 },
      debuginfo: testUpstream(before.url, { callTimeoutMs: 0, uploadTimeoutMs: 0 }),
    });
    const upload = send(r.url, "POST", uploadPath("no-deadline"), {}, Buffer.alloc(1_000, 1));
    while (before.requests.length === 0) await sleep(10);
    r.receiver.redirectDebuginfo(testUpstream(after.url));
    // Past the 0 ms the replaced upstream used to be given.
    await sleep(100);
    before.release();
    assert.equal((await upload).status, 200);
    assert.equal(after.requests.length, 0);
  });

  test("debug_info_upload_timeout and remote_timeout of 600h, past what Node's timers take (24.8 days), are waited out, not 1 ms, across a reload too", async (t) => {
    const [before, after] = [await fakeTarget(t), await fakeTarget(t)];
    pyroscopeDebuginfo(before);
    before.hold();
    const long = 600 * 3_600_000;
    const r = await startTestReceiver(t, redis, admin, {
      config: { debugInfoUploadTimeoutMs: long },
      debuginfo: testUpstream(before.url, { callTimeoutMs: long, uploadTimeoutMs: long }),
    });
    const client = debuginfoClient(createConnectTransport({ baseUrl: r.url, httpVersion: "1.1" }));
    const call = client.shouldInitiateUpload({ file });
    const upload = send(r.url, "POST", uploadPath("long-deadline"), {}, Buffer.alloc(1_000, 1));
    // The target answers later than the 1 ms Node would make of each timeout.
    await sleep(100);
    r.receiver.redirectDebuginfo(testUpstream(after.url));
    await sleep(100);
    before.release();
    assert.equal((await within(call, 2_000, "the call")).shouldInitiateUpload, true);
    assert.equal((await within(upload, 2_000, "the upload")).status, 200);
    assert.equal(before.requests.length, 2);
  });

  test("the target answering anything but 200, or unreachable: 502", async (t) => {
    const fake = await fakeTarget(t);
    fake.failNext(1, 500, { body: "disk full" });
    const r = await proxy(t, fake.url);
    const failed = await send(r.url, "POST", uploadPath("abc"), {}, Buffer.alloc(1000, 1));
    assert.equal(failed.status, 502);
    assert.match((failed.json as { message: string }).message, /target pyroscope answered HTTP 500/);

    const down = await proxy(t, "http://127.0.0.1:1");
    const unreachable = await send(down.url, "POST", uploadPath("abc"), {}, Buffer.alloc(1000, 1));
    assert.equal(unreachable.status, 502);
    assert.match((unreachable.json as { message: string }).message, /^downstream upload: target pyroscope: /);
  });

  test("without an upstream: 503", async (t) => {
    const r = await proxy(t, undefined);
    const res = await send(r.url, "POST", uploadPath("abc"), {}, Buffer.alloc(10, 1));
    assert.equal(res.status, 503);
    assert.equal((res.json as { message: string }).message, "no downstream endpoints available");
  });

  test("only POST, and only one path segment after Upload/", async (t) => {
    const fake = await fakeTarget(t);
    const r = await proxy(t, fake.url);
    assert.equal((await send(r.url, "GET", uploadPath("abc"))).status, 405);
    assert.equal((await send(r.url, "POST", uploadPath(""), {}, Buffer.alloc(1))).status, 404);
    assert.equal((await send(r.url, "POST", uploadPath("a/b"), {}, Buffer.alloc(1))).status, 404);
    assert.equal((await send(r.url, "POST", uploadPath("%E0%A4%A"), {}, Buffer.alloc(1))).status, 400);
    assert.equal(fake.requests.length, 0);
  });

  test('a build ID of "." or ".." (percent-encoded too) is invalid_argument, and nothing reaches the target', async (t) => {
    const fake = await fakeTarget(t);
    const r = await proxy(t, fake.url);
    for (const buildId of [".", "..", "%2e", "%2E%2e", ".%2E"]) {
      const res = await postRawPath(r.url, uploadPath(buildId));
      assert.equal(res.status, 400, buildId);
      assert.deepEqual(JSON.parse(res.body), { code: "invalid_argument", message: 'gnu_build_id: must not be "." or ".."' }, buildId);
    }
    assert.equal(fake.requests.length, 0);
  });

  test("an upload may take longer than server_read_timeout, up to debug_info_upload_timeout", async (t) => {
    const fake = await fakeTarget(t);
    const r = await proxy(t, fake.url, { config: { readTimeoutMs: 200, debugInfoUploadTimeoutMs: 5_000 } });
    const { port } = new URL(r.url);
    const { connect } = await import("node:net");
    const socket = connect(Number(port), "127.0.0.1");
    t.after(() => socket.destroy());
    let answer = "";
    socket.setEncoding("latin1").on("data", (chunk: string) => (answer += chunk));
    await once(socket, "connect");
    socket.write(`POST ${uploadPath("slow")} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n`);
    for (let i = 0; i < 10; i++) {
      socket.write("x");
      await sleep(60);
    }
    await within(
      (async () => {
        while (!answer.includes("\r\n\r\n")) await sleep(10);
      })(),
      3_000,
      "the answer",
    );
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.equal(fake.requests[0]?.body.toString(), "xxxxxxxxxx");
  });

  test("a target slower than server_write_timeout: the client's quiet socket lives up to debug_info_upload_timeout", async (t) => {
    const fake = await fakeTarget(t);
    fake.hold();
    const r = await proxy(t, fake.url, { config: { writeTimeoutMs: 300, debugInfoUploadTimeoutMs: 5_000 } });
    const answer = send(r.url, "POST", uploadPath("quiet"), {}, Buffer.alloc(100, 1));
    await sleep(800);
    fake.release();
    assert.equal((await answer).status, 200);
  });

  test("past debug_info_upload_timeout: 502, the target's upload abandoned", async (t) => {
    const fake = await fakeTarget(t);
    fake.hold();
    t.after(() => fake.release());
    const r = await proxy(t, fake.url, { config: { debugInfoUploadTimeoutMs: 300 } });
    const started = Date.now();
    const res = await send(r.url, "POST", uploadPath("held"), {}, Buffer.alloc(100, 1));
    assert.equal(res.status, 502);
    assert.match((res.json as { message: string }).message, /longer than 300 ms/);
    assert.ok(Date.now() - started < 2_000);
  });

  test("past the target's debug_info_upload_timeout, shorter than the receiver's: 502 as well", async (t) => {
    const fake = await fakeTarget(t);
    fake.hold();
    t.after(() => fake.release());
    const r = await startTestReceiver(t, redis, admin, { debuginfo: testUpstream(fake.url, { uploadTimeoutMs: 300 }) });
    const res = await send(r.url, "POST", uploadPath("held"), {}, Buffer.alloc(100, 1));
    assert.equal(res.status, 502);
    assert.match((res.json as { message: string }).message, /longer than 300 ms/);
  });
});

/** The receiver's `pyroscope_receive_http_debuginfo_downstream_calls_total`, as `[method, result, count]`. */
async function downstreamCalls(r: TestReceiver): Promise<[string, string, number][]> {
  const { values } = await r.metrics.debuginfoDownstreamCalls.get();
  return values.map((v) => [String(v.labels.method), String(v.labels.result), v.value]);
}

describe("pyroscope_receive_http_debuginfo_downstream_calls_total counts the calls as Alloy does", () => {
  test("a ShouldInitiateUpload and an UploadFinished the target answers: success, per receiver", async (t) => {
    const fake = await fakeTarget(t);
    pyroscopeDebuginfo(fake);
    const r = await proxy(t, fake.url);
    const client = debuginfoClient(createConnectTransport({ baseUrl: r.url, httpVersion: "1.1" }));
    await client.shouldInitiateUpload({ file });
    await client.shouldInitiateUpload({ file });
    await client.uploadFinished({ gnuBuildId: "2f5e1c" });
    assert.deepEqual(await downstreamCalls(r), [
      ["ShouldInitiateUpload", "success", 2],
      ["UploadFinished", "success", 1],
    ]);
    const { values } = await r.metrics.debuginfoDownstreamCalls.get();
    assert.deepEqual(values[0]?.labels, { component: "pyroscope.receive_http.test", method: "ShouldInitiateUpload", result: "success" });
  });

  test("a call the target refuses or never gets is a failure: its error, no upstream, a tenant Pyroscope refuses", async (t) => {
    const fake = await fakeTarget(t);
    fake.respond(() => ({ status: 403, headers: { "content-type": "application/json" }, body: JSON.stringify({ code: "permission_denied", message: "no" }) }));
    const r = await proxy(t, fake.url);
    const client = debuginfoClient(createConnectTransport({ baseUrl: r.url, httpVersion: "1.1" }));
    await assert.rejects(client.shouldInitiateUpload({ file }), { code: Code.PermissionDenied });
    await assert.rejects(client.uploadFinished({ gnuBuildId: "x" }, { headers: { "X-Scope-OrgID": "a b" } }), { code: Code.InvalidArgument });
    assert.deepEqual(await downstreamCalls(r), [
      ["ShouldInitiateUpload", "failure", 1],
      ["UploadFinished", "failure", 1],
    ]);

    const none = await proxy(t, undefined);
    await assert.rejects(debuginfoClient(createConnectTransport({ baseUrl: none.url, httpVersion: "1.1" })).shouldInitiateUpload({ file }), {
      code: Code.Unavailable,
    });
    assert.deepEqual(await downstreamCalls(none), [["ShouldInitiateUpload", "failure", 1]]);
  });

  test("a body connect-es refuses before the handler runs is not a call, as connect-go refuses it before Alloy's", async (t) => {
    const fake = await fakeTarget(t);
    const r = await proxy(t, fake.url);
    const path = "/debuginfo.v1alpha1.DebuginfoService/ShouldInitiateUpload";
    assert.equal((await send(r.url, "POST", path, { "content-type": "application/proto" }, Buffer.from([0xff]))).status, 400);
    assert.equal((await send(r.url, "POST", path, { "content-type": "text/plain" }, Buffer.from("{}"))).status, 415);
    assert.deepEqual(await downstreamCalls(r), []);
    assert.equal(fake.requests.length, 0);
  });

  test("Upload: success on the target's 200; failure on its 500, unreachable or without an upstream; not counted when refused before the handler", async (t) => {
    const fake = await fakeTarget(t);
    const r = await proxy(t, fake.url);
    assert.equal((await send(r.url, "POST", uploadPath("abc"), {}, Buffer.alloc(10, 1))).status, 200);
    fake.failNext(1, 500);
    assert.equal((await send(r.url, "POST", uploadPath("abc"), {}, Buffer.alloc(10, 1))).status, 502);
    // Alloy's mux answers these (405, 404), Go's server a bad escape (400), and its mux a dot segment (a redirect).
    assert.equal((await send(r.url, "GET", uploadPath("abc"))).status, 405);
    assert.equal((await send(r.url, "POST", uploadPath("a/b"), {}, Buffer.alloc(1))).status, 404);
    assert.equal((await send(r.url, "POST", uploadPath("%E0%A4%A"), {}, Buffer.alloc(1))).status, 400);
    assert.equal((await postRawPath(r.url, uploadPath(".."))).status, 400);
    assert.deepEqual(await downstreamCalls(r), [
      ["Upload", "success", 1],
      ["Upload", "failure", 1],
    ]);

    const down = await proxy(t, "http://127.0.0.1:1");
    assert.equal((await send(down.url, "POST", uploadPath("abc"), {}, Buffer.alloc(10, 1))).status, 502);
    assert.deepEqual(await downstreamCalls(down), [["Upload", "failure", 1]]);

    const none = await proxy(t, undefined);
    assert.equal((await postRawPath(none.url, uploadPath("%2e"))).status, 400, "the build ID is refused before the upstream is looked for");
    assert.equal((await send(none.url, "POST", uploadPath("abc"), {}, Buffer.alloc(10, 1))).status, 503);
    assert.deepEqual(await downstreamCalls(none), [["Upload", "failure", 1]]);
  });
});
