import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startEmbeddedRedis } from "./embedded-redis.js";
import { RedisServerError, RedisServerNotFoundError } from "./errors.js";
import { HUGE_PAGE_HEAP, redisCommand, redisEnvironment } from "./redis-process.js";

function storage(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "embedded-redis-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "data");
}

test("serves on a unix socket in the storage path, AOF fsynced per write, noeviction, no TCP port", async (t) => {
  const path = storage(t);
  const redis = await startEmbeddedRedis(path);
  t.after(() => redis.stop());
  const socket = join(path, "redis.sock");
  assert.equal(redis.url, `unix://${socket}`);
  assert.equal(statSync(socket).mode & 0o777, 0o700);
  const persistence = (await redisCommand({ path: socket }, ["INFO", "persistence"])) ?? "";
  assert.match(persistence, /^aof_enabled:1\r?$/m);
  const server = (await redisCommand({ path: socket }, ["INFO", "server"])) ?? "";
  assert.match(server, /^tcp_port:0\r?$/m);
  const memory = (await redisCommand({ path: socket }, ["INFO", "memory"])) ?? "";
  assert.match(memory, /^maxmemory_policy:noeviction\r?$/m);
  assert.equal(await redisCommand({ path: socket }, ["SET", "k", "v"]), "OK");
  assert.ok(existsSync(join(path, "appendonlydir")), "the AOF lives under the storage path");
});

test("what was written is there again after a stop and a start on the same storage path", async (t) => {
  const path = storage(t);
  const first = await startEmbeddedRedis(path);
  const socket = { path: join(path, "redis.sock") };
  await redisCommand(socket, ["SET", "profile", "kept"]);
  await first.stop();
  await assert.rejects(redisCommand(socket, ["PING"]), "stopped: nothing answers");
  const second = await startEmbeddedRedis(path);
  t.after(() => second.stop());
  assert.equal(await redisCommand(socket, ["GET", "profile"]), "kept");
});

test("a server that does not exit on SIGTERM is killed once the grace period is over", async (t) => {
  const path = storage(t);
  const redis = await startEmbeddedRedis(path);
  const socket = { path: join(path, "redis.sock") };
  const pid = Number(/^process_id:(\d+)/m.exec((await redisCommand(socket, ["INFO", "server"])) ?? "")?.[1]);
  // A stopped process handles no SIGTERM until continued; only SIGKILL ends it.
  process.kill(pid, "SIGSTOP");
  t.after(() => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone, as it should be.
    }
  });
  const started = Date.now();
  await redis.stop(200);
  assert.ok(Date.now() - started < 5_000, "stop returned long before the default grace period");
  assert.throws(() => process.kill(pid, 0), { code: "ESRCH" });
});

test("a server that exits while starting: the error says so at once, with what it printed", async (t) => {
  const path = storage(t);
  // Its log file cannot be opened: redis-server says why on stderr and exits.
  mkdirSync(join(path, "redis.log"), { recursive: true });
  const started = Date.now();
  const error = await startEmbeddedRedis(path).then(
    () => assert.fail("started without a log file"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof RedisServerError);
  assert.match(error.message, /redis-server exited before it was ready \(code 1/);
  assert.match(error.message, /log file/i);
  assert.ok(Date.now() - started < 5_000, "no waiting for the readiness deadline");
});

test("no redis-server on PATH: a RedisServerNotFoundError that says how to install one", async (t) => {
  const path = storage(t);
  const saved = process.env["PATH"];
  process.env["PATH"] = mkdtempSync(join(tmpdir(), "empty-path-"));
  t.after(() => {
    process.env["PATH"] = saved;
  });
  const error = await startEmbeddedRedis(path).then(
    () => assert.fail("started without redis-server on PATH"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof RedisServerNotFoundError);
  assert.match(error.message, /redis-server not found on PATH: install it/);
});

test("redis-server's environment backs its heap with huge pages, unless it sets jemalloc's options itself", () => {
  const env = redisEnvironment({ PATH: "/usr/bin" });
  assert.equal(env.MALLOC_CONF, HUGE_PAGE_HEAP);
  assert.equal(env.JE_MALLOC_CONF, HUGE_PAGE_HEAP);
  assert.equal(env.PATH, "/usr/bin");
  const own = redisEnvironment({ MALLOC_CONF: "narenas:1", JE_MALLOC_CONF: "narenas:2" });
  assert.equal(own.MALLOC_CONF, "narenas:1");
  assert.equal(own.JE_MALLOC_CONF, "narenas:2");
});

/** The kernel's transparent huge page setting (`always`, `madvise` or `never`), if it has one. */
function kernelHugePages(): string | undefined {
  try {
    return /\[(\w+)\]/.exec(readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8"))?.[1];
  } catch {
    return undefined;
  }
}

test("where the kernel leaves huge pages to the process, the embedded Redis keeps its payloads in them", {
  skip: kernelHugePages() === "madvise" ? false : `the kernel's huge pages setting is ${kernelHugePages() ?? "absent"}, not madvise`,
}, async (t) => {
  const path = storage(t);
  const redis = await startEmbeddedRedis(path);
  t.after(() => redis.stop());
  const socket = { path: join(path, "redis.sock") };
  const pid = /^process_id:(\d+)\r?$/m.exec((await redisCommand(socket, ["INFO", "server"])) ?? "")?.[1];
  assert.ok(pid !== undefined, "INFO server names the process");
  const value = "x".repeat(1024 * 1024);
  for (let i = 0; i < 16; i++) await redisCommand(socket, ["SET", `payload:${i}`, value]);
  const hugeKiB = Number(/^AnonHugePages:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1]);
  assert.ok(hugeKiB >= 2048, `16 MiB of payloads in huge pages, found ${hugeKiB} KiB`);
});
