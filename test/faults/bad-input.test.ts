import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { PushRequestSchema } from "@pyroscope-relay/proto";
import { gzippedPprof, startFakeTarget, startRedisServer, freePort } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisServerHandle } from "@pyroscope-relay/testing";
import type { Redis } from "ioredis";
import type { RelayProcess } from "../e2e/support/relay-process.js";
import { eventually } from "./support/check.js";
import { ledgerFor } from "./support/ledger.js";
import type { TargetLedger } from "./support/ledger.js";
import { idleConnection, rawExchange, request } from "./support/raw-http.js";
import { inspect, payloadKeys, relayConfig, startRelay } from "./support/relay.js";

const readTimeoutMs = 2_000;
const connLimit = 4;
const maxBody = 64 * 1024;
const pushPath = "/push.v1.PusherService/Push";

/** A Push request body with one series; `labels` as given, one small sample. */
function pushBody(labels: { name: string; value: string }[]): Buffer {
  return Buffer.from(
    toBinary(
      PushRequestSchema,
      create(PushRequestSchema, {
        series: [{ labels, samples: [{ rawProfile: gzippedPprof({ seed: 80 }), ID: "" }] }],
      }),
    ),
  );
}

function ingestPath(id: string): string {
  return `/ingest?name=${encodeURIComponent(`fault{fid=${id}}`)}&format=pprof`;
}

describe("fault 8: bad input at the process level", () => {
  let redis: RedisServerHandle;
  let a: FakeTarget;
  let b: FakeTarget;
  let ledgers: TargetLedger[];
  let relay: RelayProcess;
  let client: Redis;
  let port: number;
  let base: string;
  let good = 0;

  before(async () => {
    redis = await startRedisServer({ appendonly: true, appendfsync: "everysec" });
    a = await startFakeTarget();
    b = await startFakeTarget();
    ledgers = [ledgerFor("a", a), ledgerFor("b", b)];
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const config = relayConfig({
      port,
      http: `    conn_limit          = ${connLimit}
    server_read_timeout = "${readTimeoutMs / 1000}s"`,
      targets: [
        { name: "a", url: a.url },
        { name: "b", url: b.url },
      ],
    });
    relay = await startRelay("run", config, redis, ["--ingest.max-body-size=64KiB"]);
    client = inspect(redis);
  });

  after(async () => {
    client?.disconnect();
    await relay?.stop();
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  /** Nothing reached Redis or a target, and a good profile still goes through end to end. */
  async function assertNothingStoredAndStillServing(what: string): Promise<void> {
    const seen = a.requests.length + b.requests.length;
    await sleep(300);
    assert.deepEqual(await payloadKeys(client), [], `${what}: nothing is stored`);
    assert.equal(a.requests.length + b.requests.length, seen, `${what}: nothing is forwarded`);
    const id = `g8-${good++}`;
    const res = await request(`${base}${ingestPath(id)}`, { body: gzippedPprof({ seed: 81 }) });
    assert.equal(res.status, 200, `${what}: a good request is served after it`);
    assert.ok(await eventually(() => ledgers.every((l) => l.accepted.has(id)), 10_000), `${what}: the good profile is delivered`);
    assert.ok(await eventually(async () => (await payloadKeys(client)).length === 0, 5_000), "delivered payloads are released");
  }

  it("truncated body (Content-Length larger than sent, then close): dropped, nothing stored", async (t) => {
    const head = `POST ${ingestPath("bad-truncated")} HTTP/1.1\r\nHost: relay\r\nContent-Type: application/octet-stream\r\nContent-Length: 10000\r\n\r\n`;
    const exchange = await rawExchange(port, head, { drip: [Buffer.alloc(1000, 1)], end: true, deadlineMs: 5_000 });
    t.diagnostic(`closed by the server after ${exchange.closedAfterMs} ms, answer ${JSON.stringify(exchange.response.split("\r\n")[0] ?? "")}`);
    assert.ok(exchange.closedByServer, "the server closes the connection");
    assert.doesNotMatch(exchange.response, /^HTTP\/1\.1 2/, "never a 2xx");
    await assertNothingStoredAndStillServing("truncated body");
  });

  it("oversized body: 413 (declared or chunked, /ingest and Push), nothing stored", async (t) => {
    const big = Buffer.alloc(maxBody + 1024, 7);
    const declared = await request(`${base}${ingestPath("bad-big")}`, { body: big });
    assert.equal(declared.status, 413);
    assert.equal((JSON.parse(declared.body) as { code: string }).code, "resource_exhausted");
    const chunked = await request(`${base}${ingestPath("bad-big-chunked")}`, { body: big, headers: { "Transfer-Encoding": "chunked" } });
    assert.equal(chunked.status, 413);
    const push = await request(`${base}${pushPath}`, {
      body: pushBody([{ name: "service_name", value: "x".repeat(maxBody) }]),
      headers: { "Content-Type": "application/proto" },
    });
    t.diagnostic(`/ingest ${declared.status} ${declared.body}; chunked ${chunked.status}; Push ${push.status} ${push.body}`);
    assert.ok(push.status === 413 || push.status === 429, `Push over the limit is refused, got ${push.status}`);
    assert.equal((JSON.parse(push.body) as { code: string }).code, "resource_exhausted");
    await assertNothingStoredAndStillServing("oversized body");
  });

  it(`slow-drip upload beyond server_read_timeout (${readTimeoutMs} ms) is cut off`, async (t) => {
    const head = `POST ${ingestPath("bad-slow")} HTTP/1.1\r\nHost: relay\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n`;
    // 10 bytes every 500 ms would take 50 s; give up on the relay after 12 s.
    const drip = Array.from({ length: 24 }, () => Buffer.alloc(10, 2));
    const exchange = await rawExchange(port, head, { drip, dripEveryMs: 500, deadlineMs: 12_000 });
    t.diagnostic(`cut off after ${exchange.closedAfterMs} ms: ${JSON.stringify(exchange.response.split("\r\n")[0] ?? "")}`);
    assert.ok(exchange.closedByServer, "the server cuts the slow upload off");
    assert.ok(exchange.closedAfterMs < readTimeoutMs + 3_000, `cut off within the read timeout (+3 s), took ${exchange.closedAfterMs} ms`);
    assert.doesNotMatch(exchange.response, /^HTTP\/1\.1 2/);
    await assertNothingStoredAndStillServing("slow drip");
  });

  it(`more connections than conn_limit (${connLimit}): the extra one waits, as with Alloy, and is served once one closes`, async (t) => {
    assert.ok(await eventually(async () => (await openConnections()) === 0, 10_000), "no connection left from earlier tests");
    const held = await Promise.all(Array.from({ length: connLimit }, () => idleConnection(port)));
    const id = `g8-over-limit`;
    let settled = false;
    const waiting = request(`${base}${ingestPath(id)}`, { body: gzippedPprof({ seed: 82 }), timeoutMs: 10_000 }).finally(() => (settled = true));
    try {
      await sleep(1_000);
      assert.equal(settled, false, "the connection over the limit is neither answered nor closed while the others are open");
      assert.ok(
        held.every((c) => !c.closed()),
        "the connections within the limit stay",
      );
      const freedAt = Date.now();
      held.pop()!.socket.destroy();
      const res = await waiting;
      t.diagnostic(`${connLimit} held; the next request answered ${res.status} ${Date.now() - freedAt} ms after one closed`);
      assert.equal(res.status, 200, "served once a connection closed");
    } finally {
      for (const c of held) c.socket.destroy();
    }
    assert.ok(await eventually(() => ledgers.every((l) => l.accepted.has(id)), 10_000), "the profile that waited is delivered");
    assert.ok(await eventually(async () => (await openConnections()) === 0, 5_000));
    await assertNothingStoredAndStillServing("conn_limit");
  });

  it("malformed protobuf and JSON on Push: 400 invalid_argument, nothing stored", async () => {
    const proto = await request(`${base}${pushPath}`, {
      body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]),
      headers: { "Content-Type": "application/proto" },
    });
    assert.equal(proto.status, 400, proto.body);
    assert.equal((JSON.parse(proto.body) as { code: string }).code, "invalid_argument");
    const json = await request(`${base}${pushPath}`, { body: '{"series": [{"labels": [', headers: { "Content-Type": "application/json" } });
    assert.equal(json.status, 400, json.body);
    await assertNothingStoredAndStillServing("malformed Push");
  });

  it("invalid UTF-8 label value: 400 on Push; /ingest forwards only valid UTF-8, as Alloy does", async (t) => {
    const body = pushBody([
      { name: "service_name", value: "svc" },
      { name: "env", value: "ZZ" },
    ]);
    const at = body.indexOf("ZZ");
    body[at] = 0xc3; // a lead byte followed by a non-continuation byte: not UTF-8
    body[at + 1] = 0x28;
    const push = await request(`${base}${pushPath}`, { body, headers: { "Content-Type": "application/proto" } });
    t.diagnostic(`Push ${push.status} ${push.body}`);
    assert.equal(push.status, 400);
    assert.equal((JSON.parse(push.body) as { code: string }).code, "invalid_argument");
    await assertNothingStoredAndStillServing("invalid UTF-8 on Push");

    // Pyroscope reads an /ingest name rune by rune (Go ranges over the string), so the bad bytes become
    // U+FFFD and the profile is taken; the relay may do the same, but must never forward invalid UTF-8.
    const ingest = await request(`${base}/ingest?name=fault%7Bfid%3Du8-ingest%2Cenv%3D%C3%28%7D&format=pprof`, { body: gzippedPprof({ seed: 83 }) });
    t.diagnostic(`/ingest ${ingest.status} ${ingest.body}`);
    if (ingest.status === 200) {
      assert.ok(await eventually(() => ledgers.every((l) => l.accepted.has("u8-ingest")), 10_000), "delivered");
      for (const target of [a, b]) {
        const raw = /(?:^|&)name=([^&]*)/.exec(target.requests.find((r) => r.query.includes("u8-ingest"))!.query)![1]!;
        const name = decodeURIComponent(raw.replace(/\+/g, " ")); // throws on bytes that are not UTF-8
        t.diagnostic(`forwarded name: ${name}`);
        assert.match(name, /env=\uFFFD\(/);
      }
      assert.ok(await eventually(async () => (await payloadKeys(client)).length === 0, 5_000));
    } else {
      assert.equal(ingest.status, 400);
    }
    await assertNothingStoredAndStillServing("invalid UTF-8 on /ingest");
  });

  it("a series with 10,000 labels is refused or cut off (Push and /ingest), nothing stored", async (t) => {
    const labels = [{ name: "service_name", value: "svc" }, ...Array.from({ length: 10_000 }, (_, i) => ({ name: `l${i}`, value: "v" }))];
    const push = await request(`${base}${pushPath}`, { body: pushBody(labels), headers: { "Content-Type": "application/proto" } });
    const name = encodeURIComponent(
      `fault{fid=bad-labels,${labels
        .slice(1)
        .map((l) => `${l.name}=${l.value}`)
        .join(",")}}`,
    );
    const ingest = await request(`${base}/ingest?name=${name}&format=pprof`, { body: gzippedPprof({ seed: 84 }) }).catch((err: Error) => err);
    const ingestStatus = ingest instanceof Error ? ingest.message : ingest.status;
    t.diagnostic(`Push (${pushBody(labels).length} bytes) ${push.status}; /ingest (${name.length}-byte name) ${ingestStatus}`);
    assert.ok(push.status >= 400 && push.status < 500, `Push refused, got ${push.status}`);
    assert.ok(ingest instanceof Error || (ingest.status >= 400 && ingest.status < 500), `/ingest refused, got ${ingestStatus}`);
    await assertNothingStoredAndStillServing("10,000 labels");
  });

  // Stored and forwarded, such a series would become a failed job at every target: the receiver
  // refuses it at the door (libs/profile label limits).
  it("a series with 10,000 labels within the body limit is refused with 400", async (t) => {
    const otherPort = await freePort();
    const config = relayConfig({
      port: otherPort,
      targets: [
        { name: "a", url: a.url },
        { name: "b", url: b.url },
      ],
    });
    // Same Redis and queues, default body limit (32MiB): only the label count can refuse it.
    const ingestOnly = await startRelay("ingest", config, redis);
    try {
      const labels = [{ name: "service_name", value: "svc" }, ...Array.from({ length: 10_000 }, (_, i) => ({ name: `l${i}`, value: "v" }))];
      const seen = a.requests.length + b.requests.length;
      const push = await request(`http://127.0.0.1:${otherPort}${pushPath}`, { body: pushBody(labels), headers: { "Content-Type": "application/proto" } });
      t.diagnostic(`Push with 10,000 labels, default body limit: ${push.status} ${push.body.slice(0, 200)}`);
      await sleep(500);
      const forwarded = a.requests.length + b.requests.length - seen;
      t.diagnostic(`forwarded to the targets: ${forwarded} request(s)`);
      assert.equal(push.status, 400);
      assert.equal(forwarded, 0);
    } finally {
      await ingestOnly.stop();
    }
    assert.ok(await eventually(async () => (await payloadKeys(client)).length === 0, 5_000));
    await assertNothingStoredAndStillServing("10,000 labels");
  });

  /** The receiver's open TCP connections, from its own gauge. */
  async function openConnections(): Promise<number> {
    const metrics = await (await fetch(`${relay.opsUrl}/metrics`)).text();
    return Number(/^pyroscope_receive_http_tcp_connections\{[^}]*\} (\d+)/m.exec(metrics)?.[1] ?? Number.NaN);
  }
});
