import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { RedisServerError, startRedisServer } from "./redis-server.js";

const run = promisify(execFile);

async function cli(socketPath: string, ...args: string[]): Promise<string> {
  const { stdout } = await run("redis-cli", ["-s", socketPath, ...args]);
  return stdout.trim();
}

test("starts a private server on a unix socket and removes its directory on stop", async () => {
  const redis = await startRedisServer();
  after(() => redis.stop());
  assert.equal(redis.url, `unix://${redis.socketPath}`);
  assert.equal(await cli(redis.socketPath, "PING"), "PONG");
  assert.equal(await cli(redis.socketPath, "CONFIG", "GET", "appendonly"), "appendonly\nno");
  assert.equal(await cli(redis.socketPath, "CONFIG", "GET", "port"), "port\n0");
  await redis.stop();
  assert.equal(existsSync(redis.dir), false);
});

test("an AOF server rewrites its AOF per GiB written, as the relay's Redis should, unless told otherwise", async () => {
  const recommended = await startRedisServer({ appendonly: true });
  after(() => recommended.stop());
  assert.equal(await cli(recommended.socketPath, "CONFIG", "GET", "auto-aof-rewrite-min-size"), `auto-aof-rewrite-min-size\n${1024 ** 3}`);
  const redisDefault = await startRedisServer({ appendonly: true, aofRewriteMinSize: "64mb" });
  after(() => redisDefault.stop());
  assert.equal(await cli(redisDefault.socketPath, "CONFIG", "GET", "auto-aof-rewrite-min-size"), `auto-aof-rewrite-min-size\n${64 * 1024 ** 2}`);
});

test("a killed AOF server keeps its data for restart", async () => {
  const redis = await startRedisServer({ appendonly: true, appendfsync: "always", maxmemory: "32mb" });
  after(() => redis.stop());
  assert.equal(await cli(redis.socketPath, "CONFIG", "GET", "maxmemory-policy"), "maxmemory-policy\nnoeviction");
  assert.equal(await cli(redis.socketPath, "CONFIG", "GET", "appendfsync"), "appendfsync\nalways");
  await cli(redis.socketPath, "SET", "profile", "kept");
  await redis.kill();
  assert.equal(existsSync(redis.dir), true);
  await assert.rejects(cli(redis.socketPath, "PING"));
  await redis.restart();
  assert.equal(await cli(redis.socketPath, "GET", "profile"), "kept");
});

test("restart on a running server starts it again on the same socket", async () => {
  const redis = await startRedisServer();
  after(() => redis.stop());
  await redis.restart();
  assert.equal(await cli(redis.socketPath, "PING"), "PONG");
});

test("a caller-supplied directory survives stop", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "relay-redis-own-"));
  t.after(() => rmSync(dir, { recursive: true }));
  const redis = await startRedisServer({ dir });
  await redis.stop();
  assert.equal(existsSync(dir), true);
});

test("a missing redis-server binary is a clear error", async () => {
  const path = process.env.PATH;
  const emptyDir = mkdtempSync(join(tmpdir(), "relay-empty-path-"));
  process.env.PATH = emptyDir;
  try {
    await assert.rejects(startRedisServer(), (error: unknown) => {
      assert.ok(error instanceof RedisServerError);
      assert.match(error.message, /redis-server not found on PATH/);
      assert.equal((error.cause as NodeJS.ErrnoException).code, "ENOENT");
      return true;
    });
  } finally {
    process.env.PATH = path;
    rmSync(emptyDir, { recursive: true });
  }
});

test("a server that cannot start reports its output", async () => {
  await assert.rejects(startRedisServer({ maxmemory: "lots" }), (error: unknown) => {
    assert.ok(error instanceof RedisServerError);
    assert.match(error.message, /exited before it was ready.*maxmemory/s);
    return true;
  });
});

test("a server with tcp takes a replica that syncs before it is handed out", async (t) => {
  const master = await startRedisServer({ tcp: true });
  t.after(() => master.stop());
  assert.ok(master.port !== undefined && master.port > 0);
  await cli(master.socketPath, "SET", "before", "1");
  const replica = await startRedisServer({ replicaOf: master });
  t.after(() => replica.stop());
  assert.equal(await cli(replica.socketPath, "GET", "before"), "1", "synced at start");
  // One connection for both, since WAIT counts its own connection's writes.
  const { stdout } = await run("sh", ["-c", `printf 'SET after 2\\nWAIT 1 1000\\n' | redis-cli -s ${master.socketPath}`]);
  assert.deepEqual(stdout.trim().split("\n"), ["OK", "1"], "streaming to the replica at once");
  assert.equal(await cli(replica.socketPath, "GET", "after"), "2");
  await assert.rejects(startRedisServer({ replicaOf: replica }), /a replica needs a master started with tcp: true/);
});
