import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { queueNameFor } from "@pyroscope-relay/queue";
import { gzippedPprof, startFakeTarget, startRedisServer, freePort } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisServerHandle } from "@pyroscope-relay/testing";
import { startRelayProcess } from "./support/relay-process.js";
import type { RelayProcess } from "./support/relay-process.js";
import { runCommand } from "./support/run-command.js";
import { relayConfig } from "./support/relay-config.js";

const TOKEN = "e2e-admin-token-0123456789abcdef";
const REJECT = { status: 400, body: '{"code":"invalid_argument","message":"bad profile"}' };

describe("failed batches: failed, replay, purge and the admin API", () => {
  let redis: RedisServerHandle;
  let target: FakeTarget;
  let relay: RelayProcess;
  let connection: Redis;
  let queue: Queue;
  let ingestPort: number;
  let configPath: string;

  const command = (name: string, ...args: string[]) => runCommand([name, configPath, `--redis.url=${redis.url}`, ...args]);
  const send = async (seed: number) => {
    const body = gzippedPprof({ seed });
    const res = await fetch(`http://127.0.0.1:${ingestPort}/ingest?name=app&format=pprof`, { method: "POST", body });
    assert.equal(res.status, 200);
    return body;
  };
  const failedCount = async (count: number) => {
    const deadline = Date.now() + 10_000;
    while ((await queue.getFailedCount()) !== count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} failed jobs, have ${await queue.getFailedCount()}`);
      await sleep(20);
    }
  };
  const admin = (path: string, init: RequestInit = {}) => fetch(`${relay.opsUrl}${path}`, init);

  before(async () => {
    redis = await startRedisServer();
    target = await startFakeTarget();
    target.respond(() => REJECT);
    ingestPort = await freePort();
    relay = await startRelayProcess({
      args: [`--redis.url=${redis.url}`, `--server.http.admin-token=${TOKEN}`],
      config: relayConfig({ port: ingestPort, targets: [{ name: "strict", url: target.url }] }),
    });
    configPath = join(relay.dir, "relay.alloy");
    connection = new Redis({ path: redis.socketPath, maxRetriesPerRequest: null });
    queue = new Queue(queueNameFor("strict"), { connection, prefix: "pyroscope-relay" });
  });

  after(async () => {
    await queue?.close();
    connection?.disconnect();
    await relay?.stop();
    await target?.close();
    await redis?.stop();
  });

  it("shows a profile the target refused with 400 as failed with reason http 400", async () => {
    await send(1);
    await failedCount(1);

    const json = await command("failed", "--json");
    assert.equal(json.code, 0, json.stderr);
    const [summary] = (JSON.parse(json.stdout) as { targets: { target: string; batches: number; profiles: number; reasons: Record<string, unknown>[] }[] })
      .targets;
    assert.equal(summary?.target, "strict");
    assert.equal(summary.batches, 1);
    assert.equal(summary.profiles, 1);
    assert.equal(summary.reasons[0]?.["reason"], "http 400");
    assert.equal(summary.reasons[0]?.["status"], 400);
    assert.match(String(summary.reasons[0]?.["lastDetail"]), /bad profile/);

    const table = await command("failed", "--target", "strict");
    assert.match(
      table.stdout,
      /^strict: 1 profile in 1 failed batch\n {2}REASON +BATCHES +PROFILES +OLDEST +NEWEST\n {2}http 400 +1 +1 +\d{4}-\d\d-\d\dT[\d:]+Z +\d{4}-/,
    );
  });

  it("replays the fixed target: a dry run changes nothing, a replay delivers, a second replays nothing", async () => {
    target.respond(undefined);
    const dry = await command("replay", "--target", "strict", "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    const [counts, hint] = dry.stdout.split("\n");
    assert.equal(counts, "dry run (nothing changed): replayed 1 batch (1 profile), skipped 0 (payload gone), not matched 0");
    const asOf = /^to replay these batches alone, add --as-of (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)$/.exec(hint ?? "")?.[1];
    assert.ok(asOf !== undefined, dry.stdout);
    await sleep(300);
    assert.equal(target.requests.length, 1);
    assert.equal(await queue.getFailedCount(), 1);

    const before = await command("replay", "--target", "strict", "--as-of", new Date(Date.parse(asOf) - 3_600_000).toISOString());
    assert.equal(before.stdout, "replayed 0 batches (0 profiles), skipped 0 (payload gone), not matched 0\n", "the batch failed after that time");
    const replay = await command("replay", "--target", "strict", "--reason", "http", "--status", "400", "--since", "1h", "--as-of", asOf);
    assert.equal(replay.code, 0, replay.stderr);
    assert.equal(replay.stdout, "replayed 1 batch (1 profile), skipped 0 (payload gone), not matched 0\n");
    assert.equal(replay.stderr, "", "no progress bar without a terminal");
    const [first, second] = await target.waitForRequests(2, 10_000);
    assert.deepEqual(second?.body, first?.body);
    await failedCount(0);

    const again = await command("replay", "--target", "strict");
    assert.equal(again.stdout, "replayed 0 batches (0 profiles), skipped 0 (payload gone), not matched 0\n");
    // Delivered: the job's claim was released, so the stored profile is gone.
    assert.deepEqual(await connection.keys("pyroscope-relay:batch:*"), []);
  });

  it("purges failed batches and their stored profiles", async () => {
    target.respond(() => REJECT);
    await send(2);
    await send(3);
    await failedCount(2);
    assert.ok((await connection.keys("pyroscope-relay:batch:*")).length > 0);

    const other = await command("purge", "--target", "strict", "--reason", "network", "--status", "400");
    assert.equal(other.code, 0, other.stderr);
    assert.equal(other.stdout, "purged 0 failed batches (0 profiles) of strict; deleted 0 stored profiles no other job held\n", "no batch failed that way");
    const whole = await command("purge", "--target", "strict", "--reason", "http", "--exact-reason");
    assert.equal(whole.stdout, "purged 0 failed batches (0 profiles) of strict; deleted 0 stored profiles no other job held\n", "http is no kind of its own");
    const bare = await command("purge", "--target", "strict", "--exact-reason");
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /purge: --exact-reason: needs a reason to match/);
    assert.equal(await queue.getFailedCount(), 2);
    const badTime = await command("purge", "--target", "strict", "--as-of", "yesterday");
    assert.equal(badTime.code, 2);
    assert.match(badTime.stderr, /purge: --as-of: must be a time such as 2026-12-05T20:31:02\.123Z/);
    const dry = await command("purge", "--target", "strict", "--reason", "http", "--dry-run");
    assert.match(
      dry.stdout,
      /^dry run \(nothing changed\): would purge 2 failed batches \(2 profiles\) of strict\nto purge these batches alone, add --as-of \S+Z\n$/,
    );
    assert.equal(await queue.getFailedCount(), 2);
    const purge = await command("purge", "--target", "strict", "--reason", "HTTP", "--status", "400", "--older-than", "0.01s");
    assert.equal(purge.code, 0, purge.stderr);
    assert.equal(purge.stdout, "purged 2 failed batches (2 profiles) of strict; deleted 2 stored profiles no other job held\n");
    assert.equal(await queue.getFailedCount(), 0);
    assert.deepEqual(await connection.keys("pyroscope-relay:batch:*"), []);
  });

  it("serves the same operations over the admin API, with the configured token only", async () => {
    await send(4);
    await failedCount(1);
    assert.equal((await admin("/api/v1/failed")).status, 401);
    const wrong = await admin("/api/v1/failed", { headers: { authorization: "Bearer not-the-token-at-all" } });
    assert.equal(wrong.status, 401);
    assert.doesNotMatch(await wrong.text(), new RegExp(TOKEN));

    const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const listed = await admin("/api/v1/failed?target=strict", { headers: auth });
    assert.equal(listed.status, 200);
    const { targets } = (await listed.json()) as { targets: { batches: number; profiles: number }[] };
    assert.equal(targets[0]?.batches, 1);
    assert.equal(targets[0]?.profiles, 1);

    const dry = await admin("/api/v1/replay", { method: "POST", headers: auth, body: JSON.stringify({ target: "strict", dryRun: true }) });
    const { asOf, ...dryCounts } = (await dry.json()) as Record<string, unknown>;
    assert.deepEqual(dryCounts, { target: "strict", dryRun: true, replayed: 1, replayedProfiles: 1, skipped: 0, notMatched: 0 });
    assert.match(String(asOf), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const earlier = new Date(Date.parse(String(asOf)) - 3_600_000).toISOString();
    const pinned = await admin("/api/v1/purge", { method: "POST", headers: auth, body: JSON.stringify({ target: "strict", asOf: earlier }) });
    assert.deepEqual(await pinned.json(), { target: "strict", dryRun: false, asOf: earlier, purged: 0, purgedProfiles: 0, payloadsDeleted: 0 });
    const bad = await admin("/api/v1/replay", { method: "POST", headers: auth, body: JSON.stringify({ target: "strict", status: "x" }) });
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), { error: "status: must be an HTTP status code" });
    const unknown = await admin("/api/v1/purge", { method: "POST", headers: auth, body: JSON.stringify({ target: "nope" }) });
    assert.equal(unknown.status, 404);
    const unmatched = await admin("/api/v1/purge", { method: "POST", headers: auth, body: JSON.stringify({ target: "strict", status: 503 }) });
    assert.deepEqual(withoutTime(await unmatched.json()), { target: "strict", dryRun: false, purged: 0, purgedProfiles: 0, payloadsDeleted: 0 });
    const exact = await admin("/api/v1/purge", {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ target: "strict", reason: "http", exactReason: true }),
    });
    assert.deepEqual(withoutTime(await exact.json()), { target: "strict", dryRun: false, purged: 0, purgedProfiles: 0, payloadsDeleted: 0 });
    const purge = await admin("/api/v1/purge", {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ target: "strict", reason: "http 400", exactReason: true }),
    });
    assert.deepEqual(withoutTime(await purge.json()), { target: "strict", dryRun: false, purged: 1, purgedProfiles: 1, payloadsDeleted: 1 });
    assert.deepEqual(await connection.keys("pyroscope-relay:batch:*"), []);
  });

  it("refuses the admin API on 0.0.0.0 without a token, and says how to enable it", async () => {
    const open = await startRelayProcess({
      command: "writer",
      opsHost: "0.0.0.0",
      args: [`--redis.url=${redis.url}`],
      config: await readFile(configPath, "utf8"),
    });
    try {
      const res = await fetch(`${open.opsUrl}/api/v1/failed`);
      assert.equal(res.status, 403);
      assert.match(((await res.json()) as { error: string }).error, /set --server\.http\.admin-token/);
      assert.match(open.output(), /admin API disabled/);
    } finally {
      await open.stop();
    }
  });

  it("explains usage mistakes with exit code 2", async () => {
    const noTarget = await command("replay");
    assert.equal(noTarget.code, 2);
    assert.match(noTarget.stderr, /replay: --target: is required: the target whose failed batches to act on/);
    const unknown = await command("purge", "--target", "nope");
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--target nope: no such target in the configuration \(targets: strict\)/);
    const badStatus = await command("replay", "--target", "strict", "--status", "abc");
    assert.equal(badStatus.code, 2);
    assert.match(badStatus.stderr, /--status: must be an HTTP status code/);
    const noRedis = await runCommand(["failed", configPath]);
    assert.equal(noRedis.code, 2);
    assert.match(noRedis.stderr, /--redis\.url \(or REDIS_URL\) or --redis\.cluster-nodes is required/);
    const ttl = await runCommand(["run", configPath, "--queue.payload-ttl=1h", "--queue.failed-max-age=2h"]);
    assert.equal(ttl.code, 2);
    assert.match(ttl.stderr, /--queue\.payload-ttl: 1h is shorter than --queue\.failed-max-age \(2h\)/);
  });

  it("runs where the writers' secrets are not: the commands read the configuration's target names only", async () => {
    const withSecrets = join(relay.dir, "with-secrets.alloy");
    const config = relayConfig({
      port: ingestPort,
      targets: [
        {
          name: "strict",
          url: target.url,
          // A certificate the relay must load at start (a secret's file it would only warn of).
          endpoint: '    tls_config {\n      ca_file = "/run/secrets/not-on-this-host"\n    }',
        },
      ],
    });
    await writeFile(withSecrets, config);
    const check = await runCommand(["check", withSecrets]);
    assert.equal(check.code, 1, "the relay itself needs the file");
    const failed = await runCommand(["failed", withSecrets, `--redis.url=${redis.url}`, "--json"]);
    assert.equal(failed.code, 0, failed.stderr);
    assert.ok((JSON.parse(failed.stdout) as { targets: { target: string }[] }).targets.some((t) => t.target === "strict"));
    const unknown = await runCommand(["replay", withSecrets, `--redis.url=${redis.url}`, "--target", "other"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--target other: no such target in the configuration \(targets: strict\)/);
  });

  it("exits 1 naming the Redis it could not reach and why, after retrying until its deadline", async () => {
    const started = Date.now();
    const unreachable = await runCommand(["failed", configPath, "--redis.url=redis://127.0.0.1:1"]);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1 within 5 s: connect ECONNREFUSED 127\.0\.0\.1:1/);
    assert.ok(Date.now() - started >= 5_000, "a refused connection is retried until the deadline");
  });
});

/** An admin API answer without its `asOf` (the time it acted as of), which each test checks apart. */
function withoutTime(answer: unknown): Record<string, unknown> {
  const { asOf: _asOf, ...rest } = answer as Record<string, unknown>;
  return rest;
}
