import assert from "node:assert/strict";
import { it } from "node:test";
import { createLogger, RelayMetrics, startOpsServer } from "@pyroscope-relay/ops";
import { Router } from "express";
import { pollUntil } from "@pyroscope-relay/testing";
import { AdminGate } from "./admin-gate.js";

it("answers the admin API 503 until the admin router is handed over and after it is taken back, the router in between; other paths go on", async (t) => {
  const gate = new AdminGate();
  const server = await startOpsServer({
    listenAddr: "127.0.0.1:0",
    logger: createLogger({ level: "silent" }),
    metrics: new RelayMetrics(),
    isReady: () => false,
    mount: (app) => {
      app.use(gate.handler);
      app.get("/", (_req, res) => void res.type("text/plain").send("dashboard"));
    },
  });
  t.after(() => server.close());
  const call = async (method: string, path: string) => {
    const res = await fetch(`${server.url}${path}`, { method });
    return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
  };

  const status = await call("GET", "/api/v1/status");
  assert.equal(status.status, 503);
  assert.match(status.type, /^application\/json/);
  assert.deepEqual(JSON.parse(status.text), { error: "the relay is starting: Redis is not ready yet" });
  assert.equal((await call("POST", "/api/v1/replay")).status, 503);
  const reload = await call("POST", "/-/reload");
  assert.equal(reload.status, 503);
  assert.equal(reload.text, "the relay is starting: Redis is not ready yet: no configuration reloaded\n");
  assert.deepEqual(await call("GET", "/"), { status: 200, type: "text/plain; charset=utf-8", text: "dashboard" });
  assert.equal((await call("GET", "/api/v1x")).status, 404, "only the admin API's own paths wait");
  assert.equal((await call("GET", "/-/healthy")).status, 200);

  const admin = Router();
  admin.get("/api/v1/status", (_req, res) => void res.json({ targets: [] }));
  gate.open(admin);
  assert.deepEqual(await call("GET", "/api/v1/status"), { status: 200, type: "application/json; charset=utf-8", text: '{"targets":[]}' });
  assert.equal((await call("POST", "/-/reload")).status, 404, "a relay that cannot reload has no such route");
  assert.equal((await call("GET", "/")).text, "dashboard");

  await gate.close();
  const stopping = await call("GET", "/api/v1/status");
  assert.equal(stopping.status, 503);
  assert.deepEqual(JSON.parse(stopping.text), { error: "the relay is shutting down" });
  assert.equal((await call("POST", "/-/reload")).status, 503);
  assert.equal((await call("GET", "/")).text, "dashboard");
});

it("closing waits for the requests the admin router is answering, then they end as they would have", async (t) => {
  const gate = new AdminGate();
  const server = await startOpsServer({
    listenAddr: "127.0.0.1:0",
    logger: createLogger({ level: "silent" }),
    metrics: new RelayMetrics(),
    isReady: () => true,
    mount: (app) => app.use(gate.handler),
  });
  t.after(() => server.close());
  let finish: (() => void) | undefined;
  const admin = Router();
  admin.post("/api/v1/replay", (_req, res) => {
    finish = () => void res.json({ replayed: 1 });
  });
  gate.open(admin);
  const replay = fetch(`${server.url}/api/v1/replay`, { method: "POST" });
  await pollUntil("the replay to reach the router", () => finish !== undefined, { everyMs: 5 });
  let closed = false;
  const closing = gate.close().then(() => (closed = true));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(closed, false, "the replay under way is waited for");
  assert.equal((await fetch(`${server.url}/api/v1/status`)).status, 503, "no new request is taken meanwhile");
  finish!();
  assert.deepEqual(await (await replay).json(), { replayed: 1 });
  await closing;
  assert.equal(closed, true);
});
