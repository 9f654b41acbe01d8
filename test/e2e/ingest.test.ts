import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { foldedText, gzippedPprof, jfrBytes, multipartForm, startFakeTarget, startRedisServer, freePort } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisServerHandle } from "@pyroscope-relay/testing";
import { relayConfig } from "./support/relay-config.js";
import { startRelayProcess } from "./support/relay-process.js";
import type { RelayProcess } from "./support/relay-process.js";

describe("pyroscope-relay run: POST /ingest reaches every target as Alloy would send it", () => {
  let redis: RedisServerHandle;
  let a: FakeTarget;
  let b: FakeTarget;
  let relay: RelayProcess;
  let ingestUrl: string;

  before(async () => {
    redis = await startRedisServer();
    a = await startFakeTarget();
    b = await startFakeTarget();
    const port = await freePort();
    ingestUrl = `http://127.0.0.1:${port}`;
    relay = await startRelayProcess({
      args: [`--redis.url=${redis.url}`],
      config: relayConfig({
        port,
        targets: [
          {
            name: "a",
            url: a.url,
            endpoint: `headers = { "X-Scope-OrgID" = "team-a", "X-Extra" = "1" }
    basic_auth {
      username = "relay"
      password = "s3cret-pw"
    }`,
            write: `external_labels = { "env" = "staging" }`,
          },
          { name: "b", url: `${b.url}/base/` },
        ],
      }),
    });
  });

  after(async () => {
    await relay?.stop();
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  async function post(query: string, body: Buffer, headers: Record<string, string>): Promise<Response> {
    return fetch(`${ingestUrl}/ingest?${query}`, { method: "POST", body, headers });
  }

  async function deliveredPair(before: number) {
    await a.waitForRequests(before + 1, 10_000);
    await b.waitForRequests(before + 1, 10_000);
    return [a.requests[before]!, b.requests[before]!] as const;
  }

  it("raw gzipped pprof: body, query, Content-Type, headers, auth and tenant", async () => {
    const body = gzippedPprof({ seed: 1 });
    const n = a.requests.length;
    const res = await post("name=myapp%7Bregion%3Deu%7D&from=1700000000&until=1700000010&format=pprof&spyName=nodespy&spyVersion=0.6.2", body, {
      "Content-Type": "application/octet-stream",
      "X-Scope-OrgID": "client-tenant",
      Authorization: "Bearer client-token",
    });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "");
    const [atA, atB] = await deliveredPair(n);

    assert.equal(atA.method, "POST");
    assert.equal(atA.path, "/ingest");
    assert.deepEqual(atA.body, body);
    assert.equal(
      atA.query,
      "format=pprof&from=1700000000&name=myapp%7Benv%3Dstaging%2Cregion%3Deu%2Cservice_name%3Dmyapp%7D&spyName=nodespy&spyVersion=0.6.2&until=1700000010",
    );
    assert.equal(atA.headers["content-type"], "application/octet-stream");
    assert.equal(atA.headers["x-scope-orgid"], "team-a", "the endpoint's static tenant wins");
    assert.equal(atA.headers["x-extra"], "1");
    assert.equal(atA.headers.authorization, `Basic ${Buffer.from("relay:s3cret-pw").toString("base64")}`);

    assert.equal(atB.path, "/base/ingest");
    assert.deepEqual(atB.body, body);
    assert.equal(
      atB.query,
      "format=pprof&from=1700000000&name=myapp%7Bregion%3Deu%2Cservice_name%3Dmyapp%7D&spyName=nodespy&spyVersion=0.6.2&until=1700000010",
    );
    assert.equal(atB.headers["x-scope-orgid"], "client-tenant", "the client's tenant travels when the endpoint sets none");
    assert.equal(atB.headers.authorization, undefined, "client credentials are not forwarded");
  });

  it("multipart pprof form keeps its boundary and bytes", async () => {
    const form = multipartForm([{ name: "profile", filename: "profile.pprof", body: gzippedPprof({ seed: 2 }) }]);
    const n = a.requests.length;
    const res = await post("name=goapp&from=1&until=2&spyName=gospy&sampleRate=100", form.body, { "Content-Type": form.contentType });
    assert.equal(res.status, 200);
    const [atA, atB] = await deliveredPair(n);
    for (const got of [atA, atB]) {
      assert.deepEqual(got.body, form.body);
      assert.equal(got.headers["content-type"], form.contentType);
    }
    assert.equal(atB.query, "from=1&name=goapp%7Bservice_name%3Dgoapp%7D&sampleRate=100&spyName=gospy&until=2");
  });

  it("JFR and folded text pass through untouched", async () => {
    const cases = [
      { query: "name=javaapp&format=jfr&from=1&until=2", body: jfrBytes(4096), type: "application/octet-stream" },
      { query: "name=pyapp&from=1&until=2&spyName=pyspy", body: foldedText(), type: "text/plain; charset=utf-8" },
    ];
    for (const c of cases) {
      const n = a.requests.length;
      const res = await post(c.query, c.body, { "Content-Type": c.type });
      assert.equal(res.status, 200);
      const [atA, atB] = await deliveredPair(n);
      assert.deepEqual(atA.body, c.body);
      assert.deepEqual(atB.body, c.body);
      assert.equal(atA.headers["content-type"], c.type);
    }
  });

  it("a bad name is 400 with a name: message, and nothing is stored or forwarded", async () => {
    const n = a.requests.length + b.requests.length;
    const flushed = async () => Number(/^pyroscope_relay_flush_profiles_sum (\S+)$/m.exec(await (await fetch(`${relay.opsUrl}/metrics`)).text())?.[1]);
    const flushedBefore = await flushed();
    assert.ok(Number.isFinite(flushedBefore), "ingest reports its flushes");
    for (const query of ["name=bad%21app&from=1", "from=1&until=2", "name=%7Benv%3Dx%7D"]) {
      const res = await post(query, gzippedPprof({ seed: 3 }), { "Content-Type": "application/octet-stream" });
      assert.equal(res.status, 400, query);
      const error = (await res.json()) as { code: string; message: string };
      assert.equal(error.code, "invalid_argument");
      assert.match(error.message, /^name: /);
    }
    await sleep(300);
    assert.equal(a.requests.length + b.requests.length, n);
    assert.equal(await flushed(), flushedBefore, "no profile of the bad requests was written to Redis");
  });

  it("wrong method is 405, unknown path 404, and secrets never reach the logs", async () => {
    assert.equal((await fetch(`${ingestUrl}/ingest`)).status, 405);
    assert.equal((await fetch(`${ingestUrl}/`)).status, 404);
    assert.equal((await fetch(`${ingestUrl}/nope`, { method: "POST" })).status, 404);
    assert.doesNotMatch(relay.output(), /s3cret-pw/);
  });

  it("reports each target's queue depth and Alloy's write metrics on /metrics", async () => {
    const metrics = await (await fetch(`${relay.opsUrl}/metrics`)).text();
    assert.match(metrics, /^pyroscope_relay_queue_jobs\{target="a",state="waiting"\} \d+$/m);
    assert.match(metrics, /^pyroscope_relay_queue_jobs\{target="b",state="failed"\} \d+$/m);
    assert.match(metrics, /^pyroscope_write_sent_profiles_total\{target="a",endpoint="http:\/\/127\.0\.0\.1:\d+"\} [1-9]/m);
  });

  it("reports ingest's flushes on /metrics: their time to Redis, and every received profile in one", async () => {
    const metrics = await (await fetch(`${relay.opsUrl}/metrics`)).text();
    assert.match(metrics, /^pyroscope_relay_flush_duration_seconds_count\{outcome="stored"\} [1-9]\d*$/m);
    const received = [...metrics.matchAll(/^pyroscope_relay_received_profiles_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    assert.ok(received > 0);
    assert.match(metrics, new RegExp(`^pyroscope_relay_flush_profiles_sum ${received}$`, "m"));
  });

  it("reports the request bodies its receivers hold, none once answered, against --ingest.max-inflight-body-size", async () => {
    const metrics = await (await fetch(`${relay.opsUrl}/metrics`)).text();
    assert.match(metrics, /^pyroscope_relay_inflight_body_bytes 0$/m);
    assert.match(metrics, /^pyroscope_relay_inflight_body_bytes_limit 536870912$/m, "the default, 512MiB");
  });
});

describe("pyroscope-relay run: the client's tenant where every target sends its own", () => {
  it("is not read, so any value is taken as Alloy takes it; a reload that lets a target forward it checks it again", async (t) => {
    const redis = await startRedisServer();
    const target = await startFakeTarget();
    const port = await freePort();
    const spec = (endpoint: string) => relayConfig({ port, targets: [{ name: "only", url: target.url, endpoint }] });
    const relay = await startRelayProcess({ args: [`--redis.url=${redis.url}`], config: spec(`headers = { "X-Scope-OrgID" = "team-a" }`) });
    // The relay first: without its Redis it would wait out its drain.
    t.after(async () => {
      await relay.stop();
      await target.close();
      await redis.stop();
    });
    const post = () =>
      fetch(`http://127.0.0.1:${port}/ingest?name=app&format=pprof`, {
        method: "POST",
        body: gzippedPprof({ seed: 41 }),
        headers: { "X-Scope-OrgID": "team-a|team-b" },
      });

    const taken = await post();
    assert.equal(taken.status, 200, await taken.text());
    const [sent] = await target.waitForRequests(1, 10_000);
    assert.equal(sent!.headers["x-scope-orgid"], "team-a", "the target's own tenant");

    await writeFile(join(relay.dir, "relay.alloy"), spec(""));
    const reload = await fetch(`${relay.opsUrl}/-/reload`, { method: "POST" });
    assert.equal(reload.status, 200, await reload.text());
    const refused = await post();
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /X-Scope-OrgID/);
  });
});
