import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { createLogger, RelayMetrics, startOpsServer, type OpsServer } from "@pyroscope-relay/ops";
import { createRedisConnection, Enqueuer, queueNameFor, recordTargets, waitForRedis } from "@pyroscope-relay/queue";
import { startRedisServer, targetConfig, type RedisServerHandle } from "@pyroscope-relay/testing";
import { createAdminRouter, type AdminRouterOptions } from "./admin-router.js";
import { ReloadError } from "./reload-error.js";

const TOKEN = "s3cret-admin-token-0123456789";

let redis: RedisServerHandle;
const connection = () => {
  const client = createRedisConnection(redis.url, "admin");
  client.on("error", () => undefined);
  return client;
};
const logLines: string[] = [];
const logger = createLogger({ level: "info", destination: { write: (line: string) => void logLines.push(line) } });

const RECEIVER = "pyroscope.receive_http.default";

/** An ops server with the admin router mounted; `close` also drops its Redis connection. */
async function opsServer(options: Partial<AdminRouterOptions> & { listenAddr: string }): Promise<OpsServer> {
  const client = connection();
  await waitForRedis(client, 2_000);
  const metrics = options.metrics ?? new RelayMetrics();
  const server = await startOpsServer({
    listenAddr: options.listenAddr,
    logger,
    metrics,
    isReady: () => true,
    mount: (app) => {
      app.use(
        createAdminRouter({
          connection: client,
          prefix: `t-${randomUUID()}`,
          payloadTtlMs: 60_000,
          targets: () => ["alpha", "beta/0"],
          backlogBounds: { maxBytes: 1_048_576, maxProfiles: 0 },
          metrics,
          receivers: () => [RECEIVER],
          logger,
          ...options,
        }),
      );
    },
  });
  return {
    ...server,
    close: async () => {
      await server.close();
      client.disconnect();
    },
  };
}

function call(server: OpsServer, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] ??= "application/json";
  }
  return fetch(`${server.url}${path}`, init).then(async (res) => ({
    status: res.status,
    headers: res.headers,
    json: (await res.json()) as Record<string, unknown>,
  }));
}

before(async () => {
  redis = await startRedisServer();
});
after(() => redis.stop());

describe("with a token", () => {
  let server: OpsServer;
  const auth = { authorization: `Bearer ${TOKEN}` };
  before(async () => {
    server = await opsServer({ listenAddr: "127.0.0.1:0", token: TOKEN });
  });
  after(() => server.close());

  it("answers 401 without a token or with a wrong one, never echoing it", async () => {
    const missing = await call(server, "GET", "/api/v1/failed");
    assert.equal(missing.status, 401);
    assert.match(String(missing.json["error"]), /missing bearer token/);
    assert.match(missing.headers.get("www-authenticate") ?? "", /^Bearer /);
    for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN, "Bearer "]) {
      const wrong = await call(server, "POST", "/api/v1/purge", { target: "alpha" }, { authorization });
      assert.equal(wrong.status, 401, authorization);
      assert.doesNotMatch(JSON.stringify(wrong.json), /s3cret/);
    }
  });

  it("lists failed batches per target, or for the targets asked", async () => {
    const all = await call(server, "GET", "/api/v1/failed", undefined, auth);
    assert.equal(all.status, 200);
    assert.deepEqual(all.json, {
      targets: [
        { target: "alpha", batches: 0, profiles: 0, reasons: [] },
        { target: "beta/0", batches: 0, profiles: 0, reasons: [] },
      ],
    });
    const one = await call(server, "GET", "/api/v1/failed?target=beta%2F0", undefined, { authorization: `bearer  ${TOKEN}` });
    assert.deepEqual(one.json, { targets: [{ target: "beta/0", batches: 0, profiles: 0, reasons: [] }] });
    const two = await call(server, "GET", "/api/v1/failed?target=beta%2F0&target=alpha", undefined, auth);
    assert.deepEqual(
      (two.json["targets"] as { target: string }[]).map((t) => t.target),
      ["beta/0", "alpha"],
    );
  });

  it("replays and purges, answering the counts", async () => {
    const replay = await call(
      server,
      "POST",
      "/api/v1/replay",
      { target: "alpha", reason: "http 400", status: 400, since: "2h", limit: 10, dryRun: true },
      auth,
    );
    assert.equal(replay.status, 200);
    const { asOf, ...counts } = replay.json;
    assert.deepEqual(counts, { target: "alpha", dryRun: true, replayed: 0, replayedProfiles: 0, skipped: 0, notMatched: 0 });
    const readAt = Date.parse(String(asOf));
    assert.ok(Math.abs(Date.now() - readAt) < 60_000, `the dry run's time, RFC 3339: ${String(asOf)}`);
    const real = await call(server, "POST", "/api/v1/replay", { target: "alpha", asOf }, auth);
    assert.deepEqual(real.json, { target: "alpha", dryRun: false, asOf, replayed: 0, replayedProfiles: 0, skipped: 0, notMatched: 0 });
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const clamped = await call(server, "POST", "/api/v1/replay", { target: "alpha", asOf: later }, auth);
    assert.ok(Date.parse(String(clamped.json["asOf"])) <= Date.now(), "a time to come acts as of now");
    const purgeDryRun = await call(server, "POST", "/api/v1/purge", { target: "beta/0", olderThan: "24h", dryRun: true }, auth);
    assert.equal(purgeDryRun.json["dryRun"], true);
    assert.ok(logLines.some((line) => line.includes("admin API: purge dry run")));
    const purge = await call(server, "POST", "/api/v1/purge", { target: "beta/0", olderThan: "24h", asOf: purgeDryRun.json["asOf"] }, auth);
    assert.deepEqual(purge.json, { target: "beta/0", dryRun: false, asOf: purgeDryRun.json["asOf"], purged: 0, purgedProfiles: 0, payloadsDeleted: 0 });
    assert.ok(logLines.some((line) => line.includes("admin API: purged failed batches")));
  });

  it("answers 400 naming the bad field", async () => {
    const cases: [string, unknown, RegExp][] = [
      ["/api/v1/replay", { target: "alpha", status: "400" }, /^status: must be an HTTP status code$/],
      ["/api/v1/replay", { target: "alpha", limit: 0 }, /^limit: must be at least 1$/],
      ["/api/v1/replay", { target: "alpha", since: "2 days" }, /^since: invalid duration/],
      ["/api/v1/replay", { target: "alpha", dry_run: true }, /Unrecognized key: "dry_run"/],
      ["/api/v1/replay", { reason: "http" }, /^target: is required: the target whose failed batches to act on$/],
      ["/api/v1/replay", [], /expected object/],
      ["/api/v1/replay", { target: "alpha", asOf: "yesterday" }, /^asOf: must be a time such as 2026-12-05T20:31:02.123Z$/],
      ["/api/v1/replay", { target: "alpha", asOf: 1_700_000_000_000 }, /^asOf: must be a time such as/],
      ["/api/v1/purge", { target: "alpha", dryRun: "yes" }, /^dryRun: must be true or false$/],
      ["/api/v1/purge", { target: "alpha", olderThan: 5 }, /^olderThan: must be a duration/],
      ["/api/v1/purge", { target: "alpha", status: 99 }, /^status: must be an HTTP status code$/],
      ["/api/v1/purge", { target: "alpha", reason: " " }, /^reason: must not be empty$/],
      ["/api/v1/purge", "{not json", /^malformed JSON body$/],
    ];
    for (const [path, body, message] of cases) {
      const res = await call(server, "POST", path, body, auth);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(String(res.json["error"]), message);
    }
  });

  it("answers 404 for an unknown target or endpoint, 415 without a JSON body, 413 for a large one", async () => {
    for (const [method, path, body] of [
      ["GET", "/api/v1/failed?target=gamma", undefined],
      ["POST", "/api/v1/replay", { target: "gamma" }],
      ["POST", "/api/v1/purge", { target: "gamma" }],
    ] as const) {
      const res = await call(server, method, path, body, auth);
      assert.equal(res.status, 404);
      assert.equal(res.json["error"], 'unknown target "gamma" (targets: alpha, beta/0)');
    }
    assert.equal((await call(server, "GET", "/api/v1/nothing", undefined, auth)).status, 404);
    const form = await call(server, "POST", "/api/v1/purge", "target=alpha", { ...auth, "content-type": "application/x-www-form-urlencoded" });
    assert.equal(form.status, 415);
    assert.match(String(form.json["error"]), /Content-Type: application\/json/);
    const large = await call(server, "POST", "/api/v1/replay", { target: "alpha", reason: "x".repeat(20_000) }, auth);
    assert.equal(large.status, 413);
  });
});

describe("reload and targets a reload removed", () => {
  it("POST /-/reload answers 200 when the new configuration is taken, 400 with the reason when not; token required", async (t) => {
    let targets = ["alpha"];
    let verdict: Error | undefined;
    const server = await opsServer({
      listenAddr: "127.0.0.1:0",
      token: TOKEN,
      targets: () => targets,
      reload: async () => {
        if (verdict !== undefined) throw verdict;
        targets = ["alpha", "gamma"];
      },
    });
    t.after(() => server.close());
    const reload = (headers: Record<string, string>) =>
      fetch(`${server.url}/-/reload`, { method: "POST", headers }).then(async (res) => ({ status: res.status, text: await res.text() }));
    assert.equal((await reload({})).status, 401, "the same access rule as the admin API");
    assert.deepEqual(await reload({ authorization: `Bearer ${TOKEN}` }), { status: 200, text: "config reloaded\n" });
    const gamma = await call(server, "GET", "/api/v1/failed?target=gamma", undefined, { authorization: `Bearer ${TOKEN}` });
    assert.equal(gamma.status, 200, "a target the reload added is known at once");
    verdict = new ReloadError('relay.alloy:3:5: unknown attribute "colour"', "refused");
    assert.deepEqual(await reload({ authorization: `Bearer ${TOKEN}` }), { status: 400, text: 'relay.alloy:3:5: unknown attribute "colour"\n' });
    verdict = undefined;
    targets = ["alpha"];
    // As Alloy, GET reloads too, under the same access rule.
    const get = (headers: Record<string, string>) =>
      fetch(`${server.url}/-/reload`, { headers }).then(async (res) => ({ status: res.status, text: await res.text() }));
    assert.equal((await get({})).status, 401);
    assert.deepEqual(await get({ authorization: `Bearer ${TOKEN}` }), { status: 200, text: "config reloaded\n" });
    assert.deepEqual(targets, ["alpha", "gamma"]);
  });

  it("POST /-/reload answers 503 when the relay cannot reload now, 500 when a reload failed part-way", async (t) => {
    let verdict: Error = new ReloadError("the process is shutting down: configuration not reloaded", "unavailable");
    const server = await opsServer({
      listenAddr: "127.0.0.1:0",
      token: TOKEN,
      targets: () => ["alpha"],
      reload: async () => {
        throw verdict;
      },
    });
    t.after(() => server.close());
    const reload = () =>
      fetch(`${server.url}/-/reload`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } }).then(async (res) => ({
        status: res.status,
        text: await res.text(),
      }));
    assert.deepEqual(await reload(), { status: 503, text: "the process is shutting down: configuration not reloaded\n" });
    verdict = new ReloadError('configuration reload failed part-way: receive_http "in" could not listen again', "partial");
    assert.equal((await reload()).status, 500);
    verdict = new Error("connect ECONNREFUSED 127.0.0.1:6379");
    assert.deepEqual(
      await reload(),
      { status: 500, text: "connect ECONNREFUSED 127.0.0.1:6379\n" },
      "an error of no known kind is the relay's, not the file's",
    );
  });

  it("lists a removed target that still has a queue, with what waits there; it can be purged but not replayed", async (t) => {
    const prefix = `t-${randomUUID()}`;
    const client = connection();
    t.after(() => client.disconnect());
    await recordTargets(client, prefix, ["alpha", "beta/0", "old"]);
    const old = targetConfig("old", { maxBackoffRetries: 3 });
    const enqueuer = new Enqueuer({ connection: client, prefix, payloadTtlMs: 60_000, targets: [old] });
    for (let i = 0; i < 3; i++)
      await enqueuer.enqueue(Buffer.from(`profile ${i}`), { kind: "ingest", receivedAt: Date.now(), query: "name=app", contentTypes: [] }, ["old"]);
    await enqueuer.close();
    const server = await opsServer({ listenAddr: "127.0.0.1:0", prefix });
    t.after(() => server.close());
    const all = await call(server, "GET", "/api/v1/failed");
    assert.deepEqual(
      (all.json["targets"] as { target: string }[]).map((summary) => summary.target),
      ["alpha", "beta/0", "old"],
    );
    assert.deepEqual((all.json["targets"] as object[])[2], { target: "old", batches: 0, profiles: 0, reasons: [], removed: true, waiting: 3 });
    const asked = await call(server, "GET", "/api/v1/failed?target=old&target=alpha");
    assert.equal(asked.status, 200, "asked for by name too");
    assert.deepEqual(
      (asked.json["targets"] as { target: string; removed?: boolean }[]).map((summary) => [summary.target, summary.removed ?? false]),
      [
        ["old", true],
        ["alpha", false],
      ],
    );
    const never = await call(server, "GET", "/api/v1/failed?target=never");
    assert.equal(never.status, 404);
    assert.match(String(never.json["error"]), /unknown target "never"/);
    assert.equal((await call(server, "POST", "/api/v1/purge", { target: "old" })).status, 200);
    assert.equal((await call(server, "POST", "/api/v1/replay", { target: "old" })).status, 404, "no writer serves it: nothing to replay to");
  });
});

describe("without a token", () => {
  it("is open on loopback", async (t) => {
    const server = await opsServer({ listenAddr: "127.0.0.1:0" });
    t.after(() => server.close());
    const res = await call(server, "GET", "/api/v1/failed?target=alpha");
    assert.equal(res.status, 200);
  });

  it("on loopback, refuses with 403 a request addressed to another host (DNS rebinding)", async (t) => {
    const server = await opsServer({ listenAddr: "127.0.0.1:0" });
    t.after(() => server.close());
    const statusFor = (host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${server.url}/api/v1/failed?target=alpha`, { headers: { host } }, (res) => {
          let body = "";
          res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
          res.on("end", () => resolve({ status: res.statusCode!, body }));
        });
        req.on("error", reject).end();
      });
    const refused = await statusFor("attacker.example:12345");
    assert.equal(refused.status, 403);
    assert.match(refused.body, /only requests addressed to a loopback host.*not Host \\"attacker\.example:12345\\"/);
    for (const host of ["localhost:12345", "127.0.0.1", "[::1]:12345"]) assert.equal((await statusFor(host)).status, 200, host);
  });

  it("on loopback, refuses with 403 a request another site's page sent (CSRF): POST /-/reload reads no body", async (t) => {
    let reloads = 0;
    const server = await opsServer({
      listenAddr: "127.0.0.1:0",
      reload: async () => {
        reloads++;
      },
    });
    t.after(() => server.close());
    const reload = (headers: Record<string, string>) => fetch(`${server.url}/-/reload`, { method: "POST", headers }).then((res) => res.status);
    assert.equal(await reload({ origin: "https://evil.example", "content-type": "text/plain" }), 403);
    assert.equal(await reload({ "sec-fetch-site": "cross-site" }), 403);
    assert.equal(await reload({ origin: "null" }), 403);
    assert.equal(reloads, 0);
    // The dashboard's own page, and curl or the CLI (no Origin).
    assert.equal(await reload({ origin: server.url, "sec-fetch-site": "same-origin" }), 200);
    assert.equal(await reload({}), 200);
    assert.equal(reloads, 2);
  });

  it("refuses with 403 when the ops server listens beyond loopback", async (t) => {
    const server = await opsServer({ listenAddr: "0.0.0.0:0" });
    t.after(() => server.close());
    const res = await call(server, "POST", "/api/v1/replay", { target: "alpha" });
    assert.equal(res.status, 403);
    assert.match(String(res.json["error"]), /listens on 0\.0\.0\.0:0, beyond loopback.*set --server\.http\.admin-token/);
    assert.equal((await fetch(`${server.url.replace("0.0.0.0", "127.0.0.1")}/-/healthy`)).status, 200, "the rest of the ops server is unaffected");
  });
});

describe("status", () => {
  it("reports each target's queue from Redis with its backlog bounds, and this process's receiver counters", async (t) => {
    const prefix = `t-${randomUUID()}`;
    const client = connection();
    t.after(() => client.disconnect());
    const enqueuer = new Enqueuer({
      connection: client,
      prefix,
      payloadTtlMs: 60_000,
      targets: [targetConfig("alpha", { maxBackoffRetries: 3 }), targetConfig("beta/0", { maxBackoffRetries: 3 })],
    });
    for (const body of ["first profile", "second"]) {
      await enqueuer.enqueue(Buffer.from(body), { kind: "ingest", receivedAt: Date.now(), query: "name=app", contentTypes: [] }, ["alpha"]);
    }
    await enqueuer.close();
    const metrics = new RelayMetrics();
    metrics.receivedProfiles.inc({ component: RECEIVER, api: "ingest" }, 3);
    metrics.receivedProfiles.inc({ component: RECEIVER, api: "push" }, 2);
    metrics.rejectedRequests.inc({ component: RECEIVER, api: "ingest", reason: "bad_name" });
    metrics.rejectedRequests.inc({ component: RECEIVER, api: "push", reason: "too_large" }, 2);
    metrics.receivedProfiles.inc({ component: "pyroscope.receive_http.removed", api: "ingest" });
    const server = await opsServer({ listenAddr: "127.0.0.1:0", prefix, metrics, receivers: () => [RECEIVER, "pyroscope.receive_http.quiet"] });
    t.after(() => server.close());

    const before = Date.now();
    const res = await call(server, "GET", "/api/v1/status");
    assert.equal(res.status, 200);
    const { time, targets, process } = res.json as { time: number; targets: Record<string, unknown>[]; process: unknown };
    assert.ok(time >= before && time <= Date.now(), "the server's clock when it read the state");
    const [alpha, beta] = targets;
    const age = alpha?.["oldestWaitingAgeMs"];
    assert.ok(typeof age === "number" && age >= 0 && age < 60_000, `oldest waiting age ${String(age)}`);
    assert.deepEqual(alpha, {
      target: "alpha",
      jobs: { waiting: 2, delayed: 0, active: 0, failed: 0, prioritized: 0 },
      backlog: { bytes: "first profile".length + "second".length, profiles: 2, maxBytes: 1_048_576, maxProfiles: null },
      oldestWaitingAgeMs: age,
      circuitOpenUntil: null,
      deliveredProfiles: 0,
    });
    assert.deepEqual(beta, {
      target: "beta/0",
      jobs: { waiting: 0, delayed: 0, active: 0, failed: 0, prioritized: 0 },
      backlog: { bytes: 0, profiles: 0, maxBytes: 1_048_576, maxProfiles: null },
      oldestWaitingAgeMs: null,
      circuitOpenUntil: null,
      deliveredProfiles: 0,
    });
    assert.deepEqual(process, {
      receivers: [
        { receiver: RECEIVER, receivedProfiles: 5, rejectedRequests: 3 },
        { receiver: "pyroscope.receive_http.quiet", receivedProfiles: 0, rejectedRequests: 0 },
      ],
    });
  });

  it("follows the admin API's access rule", async (t) => {
    const withToken = await opsServer({ listenAddr: "127.0.0.1:0", token: TOKEN });
    t.after(() => withToken.close());
    assert.equal((await call(withToken, "GET", "/api/v1/status")).status, 401);
    assert.equal((await call(withToken, "GET", "/api/v1/status", undefined, { authorization: "Bearer not-the-token-at-all" })).status, 401);
    assert.equal((await call(withToken, "GET", "/api/v1/status", undefined, { authorization: `Bearer ${TOKEN}` })).status, 200);

    const loopback = await opsServer({ listenAddr: "127.0.0.1:0" });
    t.after(() => loopback.close());
    assert.equal((await call(loopback, "GET", "/api/v1/status")).status, 200);

    const open = await opsServer({ listenAddr: "0.0.0.0:0" });
    t.after(() => open.close());
    const refused = await call(open, "GET", "/api/v1/status");
    assert.equal(refused.status, 403);
    assert.match(String(refused.json["error"]), /beyond loopback/);
  });
});

describe("when Redis fails", () => {
  it("answers 500 with the reason and logs it", async (t) => {
    const prefix = `t-${randomUUID()}`;
    const client = connection();
    await client.set(`${prefix}:${queueNameFor("alpha")}:failed`, "not a sorted set");
    const server = await opsServer({ listenAddr: "127.0.0.1:0", prefix });
    t.after(() => server.close());
    const res = await call(server, "GET", "/api/v1/failed?target=alpha");
    assert.equal(res.status, 500);
    assert.match(String(res.json["error"]), /^admin operation failed: WRONGTYPE/);
    assert.ok(logLines.some((line) => line.includes("admin API request failed")));
    client.disconnect();
  });
});
