import assert from "node:assert/strict";
import { test } from "node:test";
import { gzippedPprof, startFakeTarget, targetConfig } from "@pyroscope-relay/testing";
import { eventually, ingestData, rawHeaderValues, redisForFile } from "./writer-harness.js";

const { relay } = await redisForFile();

test("/ingest: path joined with the endpoint's own path, query rewritten as Alloy does, body byte for byte", async (t) => {
  const target = await startFakeTarget();
  const r = await relay(
    t,
    [
      targetConfig("plain", { url: target.url }),
      targetConfig("below-path", { url: `${target.url}/pyroscope/` }),
      targetConfig("staging/labelled", { url: `${target.url}/tenant-a`, externalLabels: { env: "staging", region: "" } }),
    ],
    { fakes: [target] },
  );
  const profile = gzippedPprof({ seed: 3 });
  await r.enqueuer.enqueue(profile, ingestData({ query: "name=test_app&from=1&until=2" }), ["plain", "below-path", "staging/labelled"]);

  const requests = await target.waitForRequests(3);
  const byPath = new Map(requests.map((request) => [request.path, request]));
  assert.deepEqual([...byPath.keys()].sort(), ["/ingest", "/pyroscope/ingest", "/tenant-a/ingest"]);
  for (const request of requests) {
    assert.equal(request.method, "POST");
    assert.deepEqual(request.body, profile);
  }
  // Alloy's own example.
  assert.equal(byPath.get("/ingest")!.query, "from=1&name=test_app%7Bservice_name%3Dtest_app%7D&until=2");
  assert.equal(byPath.get("/pyroscope/ingest")!.query, "from=1&name=test_app%7Bservice_name%3Dtest_app%7D&until=2");
  // External labels merged in, keys sorted; an empty value deletes (region was never there).
  assert.equal(byPath.get("/tenant-a/ingest")!.query, "from=1&name=test_app%7Benv%3Dstaging%2Cservice_name%3Dtest_app%7D&until=2");
});

test("/ingest: the Content-Type travels, the first of several (the one Pyroscope reads); endpoint headers are added", async (t) => {
  const target = await startFakeTarget();
  const r = await relay(t, [targetConfig("a", { url: target.url, headers: { "X-Custom": "custom-value", "X-Other": "2" } })], { fakes: [target] });
  const contentTypes = ["multipart/form-data; boundary=b0undary", "application/x-extra"];
  await r.enqueuer.enqueue(Buffer.from("--b0undary--\r\n"), ingestData({ contentTypes }), ["a"]);
  await r.enqueuer.enqueue(Buffer.from("foo;bar 1\n"), ingestData({ query: "name=folded&format=folded", contentTypes: ["text/plain"] }), ["a"]);
  await r.enqueuer.enqueue(Buffer.from("raw"), ingestData({ contentTypes: [] }), ["a"]);

  const requests = await target.waitForRequests(3);
  const multipart = requests.find((request) => request.body.toString() === "--b0undary--\r\n")!;
  const folded = requests.find((request) => request.body.toString() === "foo;bar 1\n")!;
  const raw = requests.find((request) => request.body.toString() === "raw")!;
  assert.deepEqual(rawHeaderValues(multipart.rawHeaders, "content-type"), contentTypes.slice(0, 1));
  assert.deepEqual(rawHeaderValues(folded.rawHeaders, "content-type"), ["text/plain"]);
  assert.equal(folded.query, "format=folded&name=folded%7Bservice_name%3Dfolded%7D");
  assert.deepEqual(rawHeaderValues(raw.rawHeaders, "content-type"), []);
  for (const request of requests) {
    assert.deepEqual(rawHeaderValues(request.rawHeaders, "x-custom"), ["custom-value"]);
    assert.deepEqual(rawHeaderValues(request.rawHeaders, "x-other"), ["2"]);
    assert.deepEqual(rawHeaderValues(request.rawHeaders, "authorization"), []);
    assert.deepEqual(rawHeaderValues(request.rawHeaders, "connect-timeout-ms"), [], "not a Connect call");
  }
});

test("/ingest: basic auth and bearer token become an Authorization header", async (t) => {
  const target = await startFakeTarget();
  const r = await relay(
    t,
    [
      targetConfig("basic", { url: `${target.url}/basic`, auth: { kind: "basic", username: "user", password: "p@ss:word" } }),
      targetConfig("bearer", { url: `${target.url}/bearer`, auth: { kind: "bearer", token: "s3cr3t-token" } }),
    ],
    { fakes: [target] },
  );
  await r.enqueuer.enqueue(gzippedPprof(), ingestData(), ["basic", "bearer"]);

  const requests = await target.waitForRequests(2);
  const authorization = (path: string) => rawHeaderValues(requests.find((request) => request.path === path)!.rawHeaders, "authorization");
  assert.deepEqual(authorization("/basic/ingest"), [`Basic ${Buffer.from("user:p@ss:word").toString("base64")}`]);
  assert.deepEqual(authorization("/bearer/ingest"), ["Bearer s3cr3t-token"]);
});

test("/ingest: the endpoint's X-Scope-OrgID wins, else the client's travels on, else none", async (t) => {
  const target = await startFakeTarget();
  const r = await relay(
    t,
    [
      targetConfig("static", { url: `${target.url}/static`, headers: { "x-scope-orgid": "endpoint-tenant" } }),
      targetConfig("passthrough", { url: `${target.url}/passthrough` }),
    ],
    { fakes: [target] },
  );
  await r.enqueuer.enqueue(Buffer.from("with tenant"), ingestData({ tenant: "client-tenant" }), ["static", "passthrough"]);
  await r.enqueuer.enqueue(Buffer.from("without tenant"), ingestData(), ["static", "passthrough"]);

  const requests = await target.waitForRequests(4);
  const tenants = (path: string, body: string) =>
    rawHeaderValues(requests.find((request) => request.path === path && request.body.toString() === body)!.rawHeaders, "x-scope-orgid");
  assert.deepEqual(tenants("/static/ingest", "with tenant"), ["endpoint-tenant"]);
  assert.deepEqual(tenants("/static/ingest", "without tenant"), ["endpoint-tenant"]);
  assert.deepEqual(tenants("/passthrough/ingest", "with tenant"), ["client-tenant"]);
  assert.deepEqual(tenants("/passthrough/ingest", "without tenant"), []);
  await eventually("both batches released", async () => (await r.payloadKeys()).length === 0);
});

test("/ingest: a name the target cannot take fails for good as invalid labels, without a request", async (t) => {
  const target = await startFakeTarget();
  const r = await relay(t, [targetConfig("a", { url: target.url, externalLabels: { "bad-name": "x" } })], { fakes: [target] });
  const { batchId } = await r.enqueuer.enqueue(gzippedPprof(), ingestData(), ["a"]);
  const job = await eventually("the job to fail", async () =>
    (await r.queue("a").getJobState(batchId)) === "failed" ? r.queue("a").getJob(batchId) : undefined,
  );
  assert.match(job!.failedReason, /^invalid labels: /);
  assert.equal(target.requests.length, 0);
});
