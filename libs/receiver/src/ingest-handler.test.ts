import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { gzippedPprof, multipartForm, startRedisServer } from "@pyroscope-relay/testing";
import { adminConnection, jsonBodyOf, rawConnection, send, startTestReceiver, statusOf, within } from "./test-harness.js";
import type { RawResponse, TestReceiver } from "./test-harness.js";

const redis = await startRedisServer();
const admin = await adminConnection(redis);
after(async () => {
  admin.disconnect();
  await redis.stop();
});

const goodQuery = "name=checkout%7Benv%3Dprod%2Cregion%3Deu%7D&from=1700000000&until=1700000010&format=pprof&spyName=nodespy&spyVersion=0.6.2";

async function postProfile(r: TestReceiver, body: Buffer = gzippedPprof()): Promise<RawResponse> {
  return send(r.url, "POST", `/ingest?${goodQuery}`, { "content-type": "application/octet-stream" }, body);
}

/** The error contract: status, Pyroscope's JSON body, nothing in Redis, and the next good request served. */
async function assertRejected(t: TestContext, r: TestReceiver, res: RawResponse, status: number, code: string, message: RegExp): Promise<void> {
  assert.equal(res.status, status, res.body.toString());
  assert.match(String(res.headers["content-type"]), /^application\/json/);
  assert.deepEqual(Object.keys(res.json as object).sort(), ["code", "message"]);
  const error = res.json as { code: string; message: string };
  assert.equal(error.code, code);
  assert.match(error.message, message);
  assert.deepEqual(await r.keys(), [], "nothing stored for a rejected request");
  const good = await postProfile(r);
  assert.equal(good.status, 200, `the next good request after a ${status} is served`);
  assert.equal((await r.payloads()).length, 1);
  t.diagnostic(`${status} ${error.code}: ${error.message}`);
}

describe("POST /ingest stores the request as received", () => {
  test("body, query, every Content-Type value and tenant, one segment per target, 200 with an empty body", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { targets: ["alpha", "beta/0", "gamma:x"] });
    const form = multipartForm([{ name: "profile", filename: "profile.pprof", body: gzippedPprof({ seed: 7 }) }]);
    const query = `${goodQuery}&sampleRate=100&odd=%ZZ+a%20b`;
    const before = Date.now();
    const res = await send(
      r.url,
      "POST",
      `/ingest?${query}`,
      {
        "content-type": [form.contentType, "text/plain; charset=utf-8"],
        "x-scope-orgid": "team-a",
      },
      form.body,
    );
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);

    const payloads = await r.payloads();
    assert.equal(payloads.length, 1, "the payload is stored once whatever the number of targets");
    const [payload] = payloads;
    assert.ok(payload);
    assert.ok(payload.bytes.equals(form.body), "body byte for byte");
    assert.deepEqual(payload.targets, ["alpha", "beta/0", "gamma:x"]);
    for (const target of r.targets) {
      const segments = await r.segments(target);
      assert.equal(segments.length, 1, target);
      const [segment] = segments;
      assert.ok(segment);
      assert.equal(segment.batch, payload.batchId);
      const [{ receivedAt, ...ref }, ...others] = segment.profiles as [(typeof segment.profiles)[number]];
      assert.equal(others.length, 0);
      assert.ok(receivedAt >= before && receivedAt <= Date.now());
      assert.deepEqual(ref, {
        kind: "ingest",
        index: 0,
        offset: 0,
        size: form.body.length,
        tenant: "team-a",
        query,
        contentTypes: [form.contentType, "text/plain; charset=utf-8"],
      });
    }
  });

  test("no tenant and no Content-Type are recorded as absent", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const body = Buffer.from("main;work 10\nmain;idle 3\n");
    const res = await send(r.url, "POST", "/ingest?name=folded", {}, body);
    assert.equal(res.status, 200);
    const [segment] = await r.segments("alpha");
    const ref = segment?.profiles[0];
    assert.ok(ref);
    assert.equal(ref.tenant, undefined);
    assert.equal(ref.kind === "ingest" && ref.query, "name=folded");
    assert.deepEqual(ref.kind === "ingest" && ref.contentTypes, []);
  });

  for (const path of ["/pyroscope/ingest", "//ingest"]) {
    test(`${path} is served like /ingest`, async (t) => {
      const r = await startTestReceiver(t, redis, admin);
      const body = gzippedPprof({ seed: 3 });
      const res = await send(r.url, "POST", `${path}?${goodQuery}`, { "content-type": "application/octet-stream" }, body);
      assert.equal(res.status, 200, res.body.toString());
      const [payload] = await r.payloads();
      assert.ok(payload?.bytes.equals(body));
      const [segment] = await r.segments("alpha");
      const ref = segment?.profiles[0];
      assert.equal(ref?.kind === "ingest" && ref.query, goodQuery);
    });
  }
});

test("a request in absolute form (POST http://relay:4040/ingest?... HTTP/1.1), which Go's server takes: stored with its query as sent", async (t) => {
  const r = await startTestReceiver(t, redis, admin);
  const body = gzippedPprof();
  const targets = [`http://relay:4040/ingest?${goodQuery}`, "HTTP://relay/pyroscope/ingest?name=app%7B%7D"];
  for (const target of targets) {
    const conn = rawConnection(r.url);
    t.after(() => conn.socket.destroy());
    conn.socket.write(`POST ${target} HTTP/1.1\r\nHost: relay:4040\r\nContent-Length: ${body.length}\r\n\r\n`);
    conn.socket.write(body);
    await until(() => conn.received().includes("\r\n\r\n"), 2_000, "the answer");
    assert.equal(statusOf(conn.received()), 200, `${target}: ${conn.received()}`);
  }
  const queries = (await r.segments("alpha")).flatMap((segment) => segment.profiles.map((ref) => (ref.kind === "ingest" ? ref.query : "")));
  assert.deepEqual(queries, [goodQuery, "name=app%7B%7D"]);
});

describe("POST /ingest rejects, stores nothing and keeps serving", () => {
  test("missing name: 400 invalid_argument", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const res = await send(r.url, "POST", "/ingest?format=pprof", {}, gzippedPprof());
    await assertRejected(t, r, res, 400, "invalid_argument", /^name: /);
  });

  test("invalid name: 400 invalid_argument `name: ...`", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const res = await send(r.url, "POST", `/ingest?name=${encodeURIComponent("bad app!{env=prod}")}`, {}, gzippedPprof());
    await assertRejected(t, r, res, 400, "invalid_argument", /^name: /);
  });

  test("a service_name that is no valid app, which write would make the app: 400 invalid_argument", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const res = await send(r.url, "POST", `/ingest?name=${encodeURIComponent("checkout{service_name=payments api}")}`, {}, gzippedPprof());
    await assertRejected(t, r, res, 400, "invalid_argument", /^name: service_name: invalid service name: payments api/);
  });

  test("empty body: 200 and nothing stored, as Pyroscope stores no series for it", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const res = await send(r.url, "POST", `/ingest?${goodQuery}`, { "content-type": "application/octet-stream" }, Buffer.alloc(0));
    assert.equal(res.status, 200);
    assert.deepEqual(await r.keys(), []);
  });

  for (const orgId of ["bad tenant", "..", "x".repeat(151), "team-a,team-b"]) {
    test(`invalid X-Scope-OrgID ${JSON.stringify(orgId.slice(0, 12))}: 400 invalid_argument`, async (t) => {
      const r = await startTestReceiver(t, redis, admin);
      const res = await send(r.url, "POST", `/ingest?${goodQuery}`, { "x-scope-orgid": orgId }, gzippedPprof());
      await assertRejected(t, r, res, 400, "invalid_argument", /X-Scope-OrgID/);
    });
  }

  test("X-Scope-OrgID on two lines: the first is the tenant, as Go's Header.Get reads it", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const res = await send(r.url, "POST", `/ingest?${goodQuery}`, { "x-scope-orgid": ["team-a", "team-b"] }, gzippedPprof());
    assert.equal(res.status, 200, res.body.toString());
    const [segment] = await r.segments("alpha");
    assert.equal(segment?.profiles[0]?.tenant, "team-a");
  });

  test("where every target sends a tenant of its own, any value of the client's is taken, as Alloy takes it", async (t) => {
    const asked: string[][] = [];
    const r = await startTestReceiver(t, redis, admin, {
      forwardsClientTenant: (targets) => {
        asked.push([...targets]);
        return false;
      },
    });
    const res = await send(r.url, "POST", `/ingest?${goodQuery}`, { "x-scope-orgid": "team-a|team-b" }, gzippedPprof());
    assert.equal(res.status, 200);
    assert.equal((await send(r.url, "POST", `/ingest?${goodQuery}`, { "x-scope-orgid": "team-c" }, gzippedPprof({ seed: 2 }))).status, 200);
    const tenants = (await r.segments("alpha")).flatMap((segment) => segment.profiles.map((ref) => ref.tenant));
    assert.deepEqual(
      tenants.sort(),
      ["team-c", undefined],
      "a valid tenant is kept, for a reload that lets a target forward it; one Pyroscope refuses is dropped",
    );
    assert.deepEqual(asked, [["alpha"]], "asked about the receiver's targets, for the value Pyroscope refuses only");
  });

  test("GET /ingest: 405 with Allow: POST", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const res = await send(r.url, "GET", `/ingest?${goodQuery}`);
    assert.equal(res.headers.allow, "POST");
    await assertRejected(t, r, res, 405, "unimplemented", /GET not allowed/);
  });

  test("GET on the Push path: 405", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const res = await send(r.url, "GET", "/push.v1.PusherService/Push");
    await assertRejected(t, r, res, 405, "unimplemented", /GET not allowed/);
  });

  test("unknown path: 404 not_found", async (t) => {
    const r = await startTestReceiver(t, redis, admin);
    const res = await send(r.url, "POST", `/ingestx?${goodQuery}`, {}, gzippedPprof());
    await assertRejected(t, r, res, 404, "not_found", /\/ingestx/);
  });
});

/** A raw connection that collects everything the server sends until it closes. */
async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe("POST /ingest over the body limit: 413 without reading the rest", () => {
  const limit = 16 * 1024;

  test("declared Content-Length over the limit is refused before the body is sent", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { maxBodyBytes: limit });
    const conn = rawConnection(r.url);
    t.after(() => conn.socket.destroy());
    conn.socket.write(`POST /ingest?${goodQuery} HTTP/1.1\r\nHost: x\r\nContent-Length: ${limit + 1}\r\n\r\n`);
    // Not one body byte sent: the answer cannot depend on reading it.
    await until(() => conn.received().includes("}"), 2_000, "the 413");
    const response = conn.received();
    assert.equal(statusOf(response), 413);
    assert.match(response, /\r\nconnection: close\r\n/i);
    assert.deepEqual(jsonBodyOf(response), { code: "resource_exhausted", message: `body: request body exceeds the limit of ${limit} bytes` });
    await conn.closed;
    assert.deepEqual(await r.keys(), []);
    assert.equal((await postProfile(r)).status, 200);
  });

  test("exactly the limit is accepted", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { maxBodyBytes: limit });
    const body = Buffer.alloc(limit, 7);
    assert.equal((await postProfile(r, body)).status, 200);
    assert.ok((await r.payloads())[0]?.bytes.equals(body));
  });

  test("a client that aborts mid-body: nothing stored, the server keeps serving", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { maxBodyBytes: limit });
    const conn = rawConnection(r.url);
    conn.socket.write(`POST /ingest?${goodQuery} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n`);
    conn.socket.write(Buffer.alloc(500, 1));
    await sleep(50);
    conn.socket.destroy();
    await conn.closed;
    await sleep(50);
    assert.deepEqual(await r.keys(), []);
    assert.equal((await postProfile(r)).status, 200);
  });

  test("chunked body is cut off as soon as it passes the limit", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { maxBodyBytes: limit });
    const conn = rawConnection(r.url);
    t.after(() => conn.socket.destroy());
    conn.socket.write(`POST /ingest?${goodQuery} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = Buffer.alloc(4096, 1);
    let sent = 0;
    let sentWhenAnswered: number | undefined;
    conn.socket.once("data", () => (sentWhenAnswered = sent));
    // Keep sending after the answer too, as a client streaming its body does: the 413 must still
    // reach it (no reset that discards it) and the server must not read the body into memory.
    while (sent < 16 * limit && !conn.socket.destroyed) {
      conn.socket.write(`${chunk.length.toString(16)}\r\n`);
      conn.socket.write(chunk);
      conn.socket.write("\r\n");
      sent += chunk.length;
      await sleep(1);
    }
    await until(() => conn.received().includes("}"), 2_000, "the 413");
    t.diagnostic(`413 after ${sentWhenAnswered} of ${sent} bytes sent (limit ${limit})`);
    assert.ok(sentWhenAnswered !== undefined && sentWhenAnswered < 4 * limit, `answered after ${sentWhenAnswered} bytes`);
    const response = conn.received();
    assert.equal(statusOf(response), 413);
    assert.match(response, /\r\nconnection: close\r\n/i);
    assert.equal(jsonBodyOf(response).code, "resource_exhausted");
    await within(conn.closed, 2_000, "the connection to close after a 413");
    assert.deepEqual(await r.keys(), []);
    assert.equal((await postProfile(r)).status, 200);
  });
});

/** `body` in HTTP/1.1 chunked encoding, `size` bytes a chunk, with the last chunk. */
function chunkedEncoding(body: Buffer, size: number): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length; at += size) {
    const chunk = body.subarray(at, at + size);
    parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n"));
  }
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
}

/** Bytes that differ from their neighbours, so that a byte out of place shows. */
function patterned(length: number): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => i % 251));
}

describe("POST /ingest assembles a body from the pieces it arrives in", () => {
  const limit = 1024 * 1024;

  test("200k chunks of one byte: stored as the bytes sent", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { maxBodyBytes: limit });
    const body = patterned(200_000);
    const conn = rawConnection(r.url);
    t.after(() => conn.socket.destroy());
    conn.socket.write(`POST /ingest?${goodQuery} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`);
    conn.socket.write(chunkedEncoding(body, 1));
    await until(() => conn.received().includes("\r\n\r\n"), 10_000, "the answer");
    assert.equal(statusOf(conn.received()), 200, conn.received());
    const [payload, ...others] = await r.payloads();
    assert.equal(others.length, 0);
    assert.ok(payload?.bytes.equals(body), "the stored body is the one sent");
  });

  test("a declared Content-Length, the body in several reads: stored as the bytes sent", async (t) => {
    const r = await startTestReceiver(t, redis, admin, { maxBodyBytes: limit });
    const body = patterned(300_000);
    const conn = rawConnection(r.url);
    t.after(() => conn.socket.destroy());
    conn.socket.write(`POST /ingest?${goodQuery} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
    for (let at = 0; at < body.length; at += 70_000) {
      conn.socket.write(body.subarray(at, at + 70_000));
      await sleep(10);
    }
    await until(() => conn.received().includes("\r\n\r\n"), 5_000, "the answer");
    assert.equal(statusOf(conn.received()), 200, conn.received());
    assert.ok((await r.payloads())[0]?.bytes.equals(body), "the stored body is the one sent");
  });

  test("small chunks past the limit: 413, nothing stored", async (t) => {
    const small = 16 * 1024;
    const r = await startTestReceiver(t, redis, admin, { maxBodyBytes: small });
    const conn = rawConnection(r.url);
    t.after(() => conn.socket.destroy());
    conn.socket.write(`POST /ingest?${goodQuery} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`);
    conn.socket.write(chunkedEncoding(patterned(small + 1), 100));
    await until(() => conn.received().includes("}"), 5_000, "the 413");
    assert.equal(statusOf(conn.received()), 413);
    assert.equal(jsonBodyOf(conn.received()).code, "resource_exhausted");
    assert.deepEqual(await r.keys(), []);
  });
});
