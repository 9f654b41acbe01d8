import assert from "node:assert/strict";
import { it } from "node:test";
import { createLogger, RelayMetrics, startOpsServer } from "@pyroscope-relay/ops";
import { Router } from "express";
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

  gate.close();
  const stopping = await call("GET", "/api/v1/status");
  assert.equal(stopping.status, 503);
  assert.deepEqual(JSON.parse(stopping.text), { error: "the relay is shutting down" });
  assert.equal((await call("POST", "/-/reload")).status, 503);
  assert.equal((await call("GET", "/")).text, "dashboard");
});
