import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzippedPprof, startFakeTarget, startRedisServer } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisServerHandle } from "@pyroscope-relay/testing";
import { freePort } from "./support/free-port.js";
import { relayConfig } from "./support/relay-config.js";
import { startRelayProcess } from "./support/relay-process.js";
import { runCommand } from "./support/run-command.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function receiverConfig(port: number, targets: Record<string, string>): string {
  return relayConfig({ port, targets: Object.entries(targets).map(([name, url]) => ({ name, url })) });
}

async function ingest(port: number, body: Buffer): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/ingest?name=cli-test&format=pprof`, { method: "POST", body });
  return res.status;
}

describe("pyroscope-relay check", () => {
  it("accepts the seed document's example and the quick-start config", async () => {
    for (const file of ["examples/seed.alloy", "examples/relay.alloy"]) {
      const result = await runCommand(["check", join(root, file)]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /OK/);
    }
    const seed = await runCommand(["check", join(root, "examples/seed.alloy")]);
    assert.match(seed.stdout, /target staging: http:\/\/pyroscope-staging:4040/);
    assert.match(seed.stdout, /receiver default: \*:9999 -> staging, production/);
  });

  it("exits 1 with file:line:col and a message on a bad configuration", async () => {
    const dir = await mkdtemp(join(tmpdir(), "relay-check-"));
    try {
      const file = join(dir, "bad.alloy");
      await writeFile(file, `pyroscope.receive_http "a" {\n  forward_to = [pyroscope.write.missing.receiver]\n}\n`);
      const result = await runCommand(["check", file]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2:\\d+: .*missing`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("exits 2 on usage errors", async () => {
    assert.equal((await runCommand(["frobnicate", "x.alloy"])).code, 2);
    assert.equal((await runCommand(["check"])).code, 2);
    const badFlag = await runCommand(["check", join(root, "examples/relay.alloy"), "--no-such-flag=1"]);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /--no-such-flag/);
  });
});

describe("pyroscope-relay run with an embedded redis-server", () => {
  let target: FakeTarget;
  before(async () => {
    target = await startFakeTarget();
  });
  after(async () => {
    await target?.close();
  });

  it("starts Redis with AOF under --storage.path, delivers, and stops everything on SIGTERM with exit 0", async () => {
    const port = await freePort();
    const relay = await startRelayProcess({ config: receiverConfig(port, { only: target.url }) });
    const dataDir = join(relay.dir, "data");
    assert.equal(await ingest(port, gzippedPprof({ seed: 30 })), 200);
    await target.waitForRequests(1, 10_000);
    assert.ok((await readdir(dataDir)).includes("appendonlydir"), "AOF is on");
    assert.ok(existsSync(join(dataDir, "redis.sock")));
    assert.doesNotMatch(relay.output(), /maxmemory-policy|appendonly/i, "no durability warning for the embedded Redis");
    const socket = join(dataDir, "redis.sock");
    const code = await relay.stop("SIGTERM");
    assert.equal(code, 0);
    assert.equal(existsSync(socket), false, "the embedded redis-server stopped with the relay");
  });

  it("says how to get Redis when redis-server is not installed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "relay-noredis-"));
    try {
      const file = join(dir, "relay.alloy");
      await writeFile(file, receiverConfig(await freePort(), { only: target.url }));
      const result = await runCommand(
        ["run", file, `--storage.path=${join(dir, "data")}`, "--server.http.listen-addr=127.0.0.1:0"],
        { PATH: dirname(process.execPath) },
      );
      assert.equal(result.code, 1);
      assert.match(result.stderr, /redis-server/);
      assert.match(result.stderr, /apt-get install redis-server/);
      assert.match(result.stderr, /docker compose up redis/);
      assert.match(result.stderr, /--redis\.url/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("pyroscope-relay ingest and writer as separate processes", () => {
  let redis: RedisServerHandle;
  let a: FakeTarget;
  let b: FakeTarget;
  before(async () => {
    redis = await startRedisServer();
    a = await startFakeTarget();
    b = await startFakeTarget();
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  it("ingest needs --redis.url", async () => {
    const dir = await mkdtemp(join(tmpdir(), "relay-ingest-"));
    try {
      const file = join(dir, "relay.alloy");
      await writeFile(file, receiverConfig(await freePort(), { a: a.url }));
      const result = await runCommand(["ingest", file, "--server.http.listen-addr=127.0.0.1:0"], { ...process.env, REDIS_URL: "" });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /--redis\.url/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a writer with --target serves only that target; another writer picks up the rest", async () => {
    const port = await freePort();
    const config = receiverConfig(port, { a: a.url, b: b.url });
    const args = [`--redis.url=${redis.url}`];
    const ingestProcess = await startRelayProcess({ command: "ingest", config, args });
    const writerA = await startRelayProcess({ command: "writer", config, args: [...args, "--target", "a"] });
    try {
      assert.match(ingestProcess.output(), /appendonly|AOF/i, "a Redis without AOF is warned about");
      const body = gzippedPprof({ seed: 31 });
      assert.equal(await ingest(port, body), 200);
      await a.waitForRequests(1, 10_000);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(b.requests.length, 0, "nobody serves target b yet");
      const writerB = await startRelayProcess({ command: "writer", config, args: [...args, "--target=b"] });
      try {
        await b.waitForRequests(1, 10_000);
        assert.deepEqual(b.requests[0]!.body, body);
      } finally {
        assert.equal(await writerB.stop(), 0);
      }
    } finally {
      assert.equal(await writerA.stop(), 0);
      assert.equal(await ingestProcess.stop(), 0);
    }
  });
});
