// The writer with an oauth2 endpoint, against a local token server: tokens reused and refreshed, a
// refused token replaced, a failing token endpoint retried without its secret in any failure.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test, type TestContext } from "node:test";
import type { TargetAuth } from "@pyroscope-relay/config";
import { startFakeTarget, startTokenServer, targetConfig, type TokenServer } from "@pyroscope-relay/testing";
import { refreshBeforeExpiryMs } from "./oauth2-token-source.js";
import { eventually, failedJob, ingestData, redisForFile } from "./writer-harness.js";

const { relay } = await redisForFile();
const clientSecret = "cs-DELIVERY-s3cret";

async function tokenServer(t: TestContext, expiresIn: number): Promise<TokenServer> {
  const server = await startTokenServer({ clientId: "relay", clientSecret, expiresIn });
  t.after(() => server.close());
  return server;
}

function oauth2(server: TokenServer): TargetAuth {
  return { kind: "oauth2", clientId: "relay", clientSecret, tokenUrl: server.url, scopes: ["profiles:write"], endpointParams: {} };
}

test("oauth2: one token for many deliveries, a new one shortly before it expires", async (t) => {
  // Valid for 2 s before the refresh margin.
  const server = await tokenServer(t, refreshBeforeExpiryMs / 1000 + 2);
  const target = await startFakeTarget();
  const r = await relay(t, [targetConfig("a", { url: target.url, auth: oauth2(server) })], { fakes: [target] });

  for (let i = 0; i < 5; i++) await r.enqueuer.enqueue(Buffer.from(`early-${i}`), ingestData(), ["a"]);
  const early = await target.waitForRequests(5);
  assert.deepEqual(new Set(early.map((q) => q.headers.authorization)), new Set(["Bearer token-1"]));
  assert.equal(server.requests.length, 1, "one token request for five deliveries");

  await sleep(2_100);
  await r.enqueuer.enqueue(Buffer.from("late"), ingestData(), ["a"]);
  const [late] = (await target.waitForRequests(6)).slice(5);
  assert.equal(late?.headers.authorization, "Bearer token-2");
  assert.deepEqual(
    server.requests.map((q) => q.form["scope"]),
    ["profiles:write", "profiles:write"],
  );
});

test("oauth2: a target that refuses the token (revoked) gets a new one on the retry; nothing fails", async (t) => {
  const server = await tokenServer(t, 3_600);
  const target = await startFakeTarget();
  target.respond((q) => (q.headers.authorization === "Bearer token-1" ? { status: 401, body: "token revoked" } : undefined));
  const r = await relay(t, [targetConfig("a", { url: target.url, auth: oauth2(server) })], { fakes: [target] });
  const { batchId } = await r.enqueuer.enqueue(Buffer.from("profile"), ingestData(), ["a"]);

  await eventually("the batch delivered", async () => !(await r.batchExists(batchId)));
  assert.deepEqual(
    target.requests.map((q) => q.headers.authorization),
    ["Bearer token-1", "Bearer token-2"],
  );
  assert.equal(await r.queue("a").getFailedCount(), 0);
});

test("oauth2: a failing token endpoint is retried, named in the failure, its secret nowhere; delivered once it answers", async (t) => {
  const server = await tokenServer(t, 3_600);
  server.answer({ status: 503, body: `unavailable (client_secret=${clientSecret})` });
  const target = await startFakeTarget();
  const r = await relay(t, [targetConfig("a", { url: target.url, auth: oauth2(server), maxBackoffRetries: 2 })], { fakes: [target] });

  const { batchId } = await r.enqueuer.enqueue(Buffer.from("while down"), ingestData(), ["a"]);
  const job = await failedJob(r.queue("a"), batchId);
  assert.equal(job.failedReason, `oauth2 http 503: token_url ${server.url}: unavailable (client_secret=<secret>)`);
  assert.doesNotMatch(JSON.stringify(job.data), /s3cret/);
  assert.equal(target.requests.length, 0);

  server.answer(undefined);
  await r.enqueuer.enqueue(Buffer.from("once up"), ingestData(), ["a"]);
  const [delivered] = await target.waitForRequests(1);
  assert.equal(delivered?.headers.authorization, "Bearer token-1");
});
