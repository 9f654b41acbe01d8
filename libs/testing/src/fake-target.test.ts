import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, test } from "node:test";
import { FakeTargetTimeoutError, startFakeTarget } from "./fake-target.js";

const target = await startFakeTarget();
after(() => target.close());

test("records /ingest requests byte for byte and answers 200 with an empty body", async () => {
  const body = Buffer.from([0x1f, 0x8b, 0, 255]);
  const res = await fetch(`${target.url}/ingest?name=app%7Benv%3Dprod%7D&format=pprof`, {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream", "X-Scope-OrgID": "tenant-a" },
    body,
  });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "");
  const [request] = await target.waitForRequests(1);
  assert.ok(request);
  assert.equal(request.method, "POST");
  assert.equal(request.path, "/ingest");
  assert.equal(request.query, "name=app%7Benv%3Dprod%7D&format=pprof");
  assert.equal(request.headers["x-scope-orgid"], "tenant-a");
  assert.ok(request.rawHeaders.includes("X-Scope-OrgID"));
  assert.deepEqual(request.body, body);
});

test("answers Push in the codec of the request", async () => {
  const push = `${target.url}/push.v1.PusherService/Push`;
  const proto = await fetch(push, { method: "POST", headers: { "Content-Type": "application/proto" }, body: "" });
  assert.equal(proto.headers.get("content-type"), "application/proto");
  assert.equal((await proto.arrayBuffer()).byteLength, 0);
  const json = await fetch(push, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
  assert.equal(json.headers.get("content-type"), "application/json");
  assert.equal(await json.text(), "{}");
});

test("failNext fails exactly the next n requests, then a rule, then the default", async (t) => {
  t.after(() => target.respond(undefined));
  target.failNext(2, 503, { body: "down", headers: { "retry-after": "1" } });
  target.respond((req) => (req.query === "rule" ? { status: 422, body: "bad" } : undefined));
  const statuses: number[] = [];
  for (const query of ["a", "rule", "rule", "b"]) {
    const res = await fetch(`${target.url}/ingest?${query}`, { method: "POST", body: "x" });
    if (res.status === 503) assert.equal(res.headers.get("retry-after"), "1");
    statuses.push(res.status);
    await res.text();
  }
  assert.deepEqual(statuses, [503, 503, 422, 200]);
});

test("hold keeps answers back until release", async () => {
  target.hold();
  const before = target.requests.length;
  let answered = false;
  const pending = fetch(`${target.url}/ingest`, { method: "POST", body: "held" }).then((res) => {
    answered = true;
    return res.status;
  });
  await target.waitForRequests(before + 1);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(answered, false);
  target.release();
  assert.equal(await pending, 200);
});

test("waitForRequests times out with how many arrived", async () => {
  const count = target.requests.length;
  await assert.rejects(target.waitForRequests(count + 1, 30), (error: unknown) => {
    assert.ok(error instanceof FakeTargetTimeoutError);
    assert.match(error.message, new RegExp(`expected ${count + 1} request\\(s\\) within 30 ms, got ${count}`));
    return true;
  });
});

test("a request abandoned mid-body is not recorded", async () => {
  const before = target.requests.length;
  const { port } = new URL(target.url);
  const socket = connect(Number(port), "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write("POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial");
  await new Promise((resolve) => setTimeout(resolve, 20));
  socket.destroy();
  await fetch(`${target.url}/ingest`, { method: "POST", body: "next" });
  await target.waitForRequests(before + 1);
  assert.equal(target.requests.length, before + 1);
  assert.equal(target.requests.at(-1)?.body.toString(), "next");
});

test("close ends held requests", async () => {
  const own = await startFakeTarget();
  own.hold();
  const pending = fetch(`${own.url}/ingest`, { method: "POST", body: "x" });
  await own.waitForRequests(1);
  await own.close();
  await assert.rejects(pending);
});
