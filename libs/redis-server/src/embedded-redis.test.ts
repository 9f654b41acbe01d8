import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { startEmbeddedRedis } from "./embedded-redis.js";
import { RedisServerError, RedisServerNotFoundError, RedisServerStartStoppedError, StoragePathInUseError } from "./errors.js";
import {
  answersOn,
  HUGE_PAGE_HEAP,
  logPath,
  persistenceArgs,
  redisCommand,
  redisEnvironment,
  redisProcess,
  serversFollowTheirStarter,
} from "./redis-process.js";

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
  assert.equal(redis.url, socket);
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

test("a storage path holding #, ? and % serves, and its endpoint names the socket as it is", async (t) => {
  const path = join(storage(t), "a#b?c=%41%");
  const redis = await startEmbeddedRedis(path);
  t.after(() => redis.stop());
  assert.equal(redis.url, join(path, "redis.sock"));
  assert.equal(await redisCommand({ path: redis.url }, ["PING"]), "PONG");
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

/** The server's process id, from INFO. */
async function serverPid(socket: { path: string }): Promise<number> {
  return Number(/^process_id:(\d+)/m.exec((await redisCommand(socket, ["INFO", "server"])) ?? "")?.[1]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("a second start on a storage path whose server runs is refused, and the running one keeps its socket", async (t) => {
  const path = storage(t);
  const first = await startEmbeddedRedis(path);
  t.after(() => first.stop());
  const socket = { path: join(path, "redis.sock") };
  await redisCommand(socket, ["SET", "profile", "kept"]);
  await assert.rejects(startEmbeddedRedis(path), (error: Error) => {
    assert.ok(error instanceof StoragePathInUseError);
    assert.match(error.message, /a redis-server already serves .*redis\.sock: another relay runs with --storage\.path/);
    return true;
  });
  assert.equal(await redisCommand(socket, ["GET", "profile"]), "kept", "the first server and its socket are untouched");
});

test("two starts at the same instant on one storage path: one server runs, the other start is refused; a stop frees the path", {
  skip: process.platform === "linux" ? false : "the storage path's lock is a Linux abstract socket",
}, async (t) => {
  const path = storage(t);
  const results = await Promise.allSettled([startEmbeddedRedis(path), startEmbeddedRedis(path)]);
  const started = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  t.after(() => Promise.all(started.map((redis) => redis.stop())));
  assert.equal(started.length, 1, "one server runs");
  const refused = results.find((result) => result.status === "rejected")?.reason as Error;
  assert.ok(refused instanceof StoragePathInUseError, String(refused));
  // Refused by the lock while the other starts, or, on a slow machine, by the server it already started.
  if (refused.holder === "relay") {
    assert.match(refused.message, /^another relay is starting or running with --storage\.path .* \(it holds the path's lock\)/);
  } else {
    assert.match(refused.message, /^a redis-server already serves .*redis\.sock: another relay runs with --storage\.path/);
  }
  await started[0]!.stop();
  started.length = 0;
  const again = await startEmbeddedRedis(path);
  await again.stop();
});

test("the storage path is for its owner alone, even one of its owner's that existed open to all", async (t) => {
  const path = storage(t);
  mkdirSync(path, { recursive: true, mode: 0o755 });
  chmodSync(path, 0o755);
  const redis = await startEmbeddedRedis(path);
  t.after(() => redis.stop());
  assert.equal(statSync(path).mode & 0o777, 0o700);
});

const followsStarter = serversFollowTheirStarter() && existsSync("/proc/self/stat") ? false : "needs setpriv --pdeathsig (util-linux) and /proc";

test("the server runs in a process group of its own: a signal to the starter's group (Ctrl-C) does not reach it", { skip: followsStarter }, async (t) => {
  const path = storage(t);
  const redis = await startEmbeddedRedis(path);
  t.after(() => redis.stop());
  const pid = await serverPid({ path: join(path, "redis.sock") });
  const group = Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[2]);
  assert.equal(group, pid, "the server leads a group of its own");
  assert.notEqual(group, Number(readFileSync("/proc/self/stat", "utf8").split(") ")[1]?.split(" ")[2]));
});

test("a starter killed outright takes its server with it (parent-death signal): no server is left holding the storage path", {
  skip: followsStarter,
}, async (t) => {
  const path = storage(t);
  const module = fileURLToPath(new URL("./embedded-redis.ts", import.meta.url));
  const script = `const { startEmbeddedRedis } = await import(${JSON.stringify(module)}); await startEmbeddedRedis(process.argv[1]); console.log("ready"); setInterval(() => {}, 1000);`;
  const starter = spawn(process.execPath, [...process.execArgv, "--input-type=module", "-e", script, path], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => starter.kill("SIGKILL"));
  const [line] = (await once(starter.stdout, "data")) as [Buffer];
  assert.match(line.toString(), /ready/);
  const pid = await serverPid({ path: join(path, "redis.sock") });
  starter.kill("SIGKILL");
  const deadline = Date.now() + 5_000;
  while (alive(pid) && Date.now() < deadline) await sleep(20);
  assert.equal(alive(pid), false, "the server stopped when its starter died");
  const again = await startEmbeddedRedis(path);
  await again.stop();
});

test("a server loading a large AOF is waited for past the ready timeout, not killed (and made to load it all again), unless asked to stop", async (t) => {
  const dir = storage(t);
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, "redis.sock");
  const args = ["--port", "0", "--unixsocket", socket, ...persistenceArgs(dir, { appendonly: true })];
  const writer = redisProcess(args, { path: socket }, logPath(dir));
  await writer.start();
  await redisCommand({ path: socket }, ["EVAL", "for i = 1, 8000 do redis.call('SET', 'k' .. i, 'v') end", "0"]);
  // An RDB base, which Redis loads key by key: `key-load-delay` (µs per key) makes the load take 4 s,
  // twice the ready timeout, which leaves a busy machine time to start redis-server and open its
  // socket. Redis answers (-LOADING) between every so many bytes loaded: every 1 KiB here, as it
  // does every 2 MiB of a real backlog.
  await redisCommand({ path: socket }, ["BGREWRITEAOF"]);
  while (!/^aof_rewrite_in_progress:0\r?$/m.test((await redisCommand({ path: socket }, ["INFO", "persistence"])) ?? "")) await sleep(20);
  await writer.terminate("SIGTERM");
  const slowLoad = ["--key-load-delay", "500", "--loading-process-events-interval-bytes", "1024"];
  const loading = redisProcess([...args, ...slowLoad], { path: socket }, logPath(dir), { readyTimeoutMs: 2_000 });
  const started = Date.now();
  await loading.start();
  t.after(() => loading.terminate("SIGTERM"));
  assert.ok(Date.now() - started > 2_000, `ready after ${Date.now() - started} ms: the load outlasted the ready timeout`);
  assert.equal(await redisCommand({ path: socket }, ["DBSIZE"]), "8000");
  await loading.terminate("SIGTERM");

  // Asked to stop meanwhile (the relay got SIGTERM): the start gives up, and the server is stopped.
  const stop = new AbortController();
  const stopped = redisProcess([...args, ...slowLoad], { path: socket }, logPath(dir), { readyTimeoutMs: 2_000, signal: stop.signal });
  t.after(() => stopped.terminate("SIGTERM"));
  setTimeout(() => stop.abort(), 200);
  const asked = Date.now();
  await assert.rejects(
    stopped.start(),
    (error: Error) => error instanceof RedisServerStartStoppedError && /asked to stop while redis-server on .* was starting/.test(error.message),
  );
  assert.ok(Date.now() - asked < 3_000, `gave up after ${Date.now() - asked} ms`);
  assert.equal(stopped.running, false);
  assert.equal(await answersOn({ path: socket }), false, "nothing answers: the server stopped");
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
