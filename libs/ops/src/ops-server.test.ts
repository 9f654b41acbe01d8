import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "./logger.js";
import { OpsServerError } from "./ops-server-error.js";
import { startOpsServer } from "./ops-server.js";
import type { OpsServer } from "./ops-server.js";
import { RelayMetrics } from "./relay-metrics.js";

function quietLogger() {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: "info", destination: { write: (line: string) => void lines.push(line) } }) };
}

describe("startOpsServer", () => {
  let server: OpsServer;
  let ready = false;
  let problem: string | undefined;
  const metrics = new RelayMetrics();
  const { lines, logger } = quietLogger();

  before(async () => {
    server = await startOpsServer({
      listenAddr: "127.0.0.1:0",
      logger,
      metrics,
      isReady: () => ready,
      readinessProblem: () => problem,
      mount: (app) => {
        app.get("/api/v1/ping", (_req, res) => {
          res.json({ pong: true });
        });
        app.get("/api/v1/boom", () => {
          throw new Error("dashboard broke");
        });
      },
    });
  });

  after(() => server.close());

  it("reports the port it bound", () => {
    assert.equal(server.address.host, "127.0.0.1");
    assert.ok(server.address.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.address.port}`);
  });

  it("answers /-/healthy", async () => {
    const res = await fetch(`${server.url}/-/healthy`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "Healthy");
  });

  it("answers /-/ready from isReady at request time", async () => {
    ready = false;
    let res = await fetch(`${server.url}/-/ready`);
    assert.equal(res.status, 503);
    assert.equal(await res.text(), "Not ready");
    ready = true;
    res = await fetch(`${server.url}/-/ready`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "Ready");
  });

  it("answers /-/ready 503 with the problem a running process found", async () => {
    ready = true;
    problem = "--target.queue-shards: 1, but 4 are recorded";
    try {
      const res = await fetch(`${server.url}/-/ready`);
      assert.equal(res.status, 503);
      assert.equal(await res.text(), "Not ready: --target.queue-shards: 1, but 4 are recorded");
    } finally {
      problem = undefined;
    }
    assert.equal((await fetch(`${server.url}/-/ready`)).status, 200);
  });

  it("serves the metrics in Prometheus text format", async () => {
    metrics.enqueueFailures.inc({ component: "default" });
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    assert.match(await res.text(), /^pyroscope_relay_enqueue_failures_total\{component="default"\} 1$/m);
  });

  it("serves mounted routes and answers 404 for unknown paths", async () => {
    assert.deepEqual(await (await fetch(`${server.url}/api/v1/ping`)).json(), { pong: true });
    for (const path of ["/", "/nope", "/-/healthyy"]) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, 404, path);
      await res.body?.cancel();
    }
  });

  it("answers 500 without the error's details and logs it", async () => {
    const res = await fetch(`${server.url}/api/v1/boom`);
    assert.equal(res.status, 500);
    assert.doesNotMatch(await res.text(), /dashboard broke/);
    assert.ok(lines.some((line) => line.includes("dashboard broke")));
  });
});

describe("startOpsServer listen addresses", () => {
  const { logger } = quietLogger();
  const common = { logger, metrics: new RelayMetrics(), isReady: () => true };

  it("binds IPv6 and formats the URL with brackets", async (t) => {
    let server: OpsServer;
    try {
      server = await startOpsServer({ ...common, listenAddr: "[::1]:0" });
    } catch (error) {
      t.skip(`no IPv6 loopback here: ${String(error)}`);
      return;
    }
    try {
      assert.equal(server.address.host, "::1");
      assert.equal(server.url, `http://[::1]:${server.address.port}`);
      assert.equal((await fetch(`${server.url}/-/healthy`)).status, 200);
    } finally {
      await server.close();
    }
  });

  it("rejects with an OpsServerError naming the address when the port is taken", async () => {
    const first = await startOpsServer({ ...common, listenAddr: "127.0.0.1:0" });
    try {
      const taken = `127.0.0.1:${first.address.port}`;
      await assert.rejects(
        startOpsServer({ ...common, listenAddr: taken }),
        (error: unknown) =>
          error instanceof OpsServerError &&
          error.listenAddr === taken &&
          error.message.includes(taken) &&
          error.message.endsWith("(another relay may run here: each process needs its own --server.http.listen-addr)") &&
          (error.cause as NodeJS.ErrnoException).code === "EADDRINUSE",
      );
    } finally {
      await first.close();
    }
  });

  it("rejects a malformed address with an OpsServerError", async () => {
    await assert.rejects(
      startOpsServer({ ...common, listenAddr: "localhost" }),
      (error: unknown) => error instanceof OpsServerError && /missing port/.test(error.message),
    );
  });
});
