import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { constants, existsSync } from "node:fs";
import { access, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { getPriority, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { gzippedPprof, pollUntil, startFakeTarget, startRedisServer, freePort } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisServerHandle } from "@pyroscope-relay/testing";
import { relayConfig } from "./support/relay-config.js";
import { relayMain, startRelayProcess } from "./support/relay-process.js";
import { runCommand } from "./support/run-command.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function receiverConfig(port: number, targets: Record<string, string>): string {
  return relayConfig({ port, targets: Object.entries(targets).map(([name, url]) => ({ name, url })) });
}

/** The distinct nice values of a process' threads (Linux: a nice value is a thread's). */
async function threadPriorities(pid: number): Promise<number[]> {
  const threads = await readdir(`/proc/${pid}/task`);
  return [...new Set(threads.map((thread) => getPriority(Number(thread))))];
}

/** SCHED_OTHER and SCHED_IDLE, as `/proc/<pid>/task/<tid>/stat` numbers them (sched.h). */
const schedOther = 0;
const schedIdle = 5;

/** The distinct scheduling policies of a process' threads: field 41 of each thread's stat. */
async function threadPolicies(pid: number): Promise<number[]> {
  const policies = new Set<number>();
  for (const thread of await readdir(`/proc/${pid}/task`)) {
    const stat = await readFile(`/proc/${pid}/task/${thread}/stat`, "utf8");
    // Fields after the command name, which may hold spaces and ends at the last ')': field 3 first.
    policies.add(Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[41 - 3]));
  }
  return [...policies];
}

async function ingest(port: number, body: Buffer): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/ingest?name=cli-test&format=pprof`, { method: "POST", body });
  return res.status;
}

describe("pyroscope-relay --version, help and usage errors", () => {
  it("--version prints the repository's version and exits 0", async () => {
    const { version } = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { version: string };
    const result = await runCommand(["--version"]);
    assert.deepEqual(result, { code: 0, stdout: `pyroscope-relay ${version}\n`, stderr: "" });
  });

  it("help, --help and -h print every command and flag and exit 0; no command at all exits 2", async () => {
    for (const word of ["help", "--help", "-h"]) {
      const result = await runCommand([word]);
      assert.equal(result.code, 0, word);
      assert.match(result.stdout, /^Usage: pyroscope-relay COMMAND CONFIG \[flags\]/);
      assert.match(result.stdout, /^ {2}purge CONFIG/m);
      assert.match(result.stdout, /^ {2}--redis\.cluster-nodes NODES/m);
      assert.match(result.stdout, /^ {2}--older-than DURATION/m);
    }
    const none = await runCommand([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^Usage: pyroscope-relay/);
  });

  it("COMMAND --help (or help COMMAND) prints only that command's flags and exits 0, whatever else is on the line", async () => {
    for (const args of [
      ["replay", "--help"],
      ["help", "replay"],
      ["replay", "relay.alloy", "--no-such-flag", "-h"],
    ]) {
      const result = await runCommand(args);
      assert.equal(result.code, 0, args.join(" "));
      assert.match(result.stdout, /^Usage: pyroscope-relay replay CONFIG --target NAME \[flags\]/);
      assert.match(result.stdout, /^ {2}--dry-run /m);
      assert.match(result.stdout, /^ {2}--redis\.url URL /m);
      assert.doesNotMatch(result.stdout, /--log\.level|--json|--older-than/);
    }
    const check = await runCommand(["check", "--help"]);
    assert.match(check.stdout, /^ {2}--log\.level LEVEL /m);
    assert.doesNotMatch(check.stdout, /^ {2}--target /m);
  });

  it("an unknown command, or a flag the command does not take, exits 2 with a message and a hint", async () => {
    const config = join(root, "examples/relay.alloy");
    const cases: Array<[string[], RegExp]> = [
      [["frobnicate", "x.alloy"], /^pyroscope-relay: unknown command "frobnicate"\nRun 'pyroscope-relay help' for the commands\.\n$/],
      [
        ["--redis.url=redis://x:1", "run"],
        /^pyroscope-relay: --redis\.url=redis:\/\/x:1: unknown flag \(the command comes first\)\nRun 'pyroscope-relay help'/,
      ],
      [["help", "frobnicate"], /^pyroscope-relay: unknown command "frobnicate"\n/],
      [["help", "run", "check"], /^pyroscope-relay: help takes at most one COMMAND\n/],
      [["check", config, "--no-such-flag=1"], /^pyroscope-relay: --no-such-flag: unknown flag\nRun 'pyroscope-relay check --help' for its flags\.\n$/],
      [
        ["failed", config, "--log.level=debug"],
        /^pyroscope-relay: --log\.level: unknown flag\n--log\.level is a flag of run, ingest, writer, check\. Run 'pyroscope-relay failed --help' for its flags\.\n$/,
      ],
      [["check", config, "--target", "local"], /^pyroscope-relay: --target: unknown flag\n--target is a flag of run, writer, failed, replay, purge\./],
    ];
    for (const [args, stderr] of cases) {
      const result = await runCommand(args);
      assert.equal(result.code, 2, args.join(" "));
      assert.match(result.stderr, stderr);
    }
  });

  it("an unusable Redis URL is a usage error in every command, check included, its password never printed", async () => {
    const config = join(root, "examples/relay.alloy");
    const runs: Array<[string[], string, RegExp]> = [
      [["check", config], "redis://user:s3cret@h:6379/x", /database "x" is not a number/],
      [["check", config], "redis://:s3cret@h:6379?timeout=1", /unsupported parameter "timeout"/],
      [["check", config], "redis://:s3cret%zz@h:6379", /a malformed %-escape/],
      [["ingest", config, "--server.http.listen-addr=127.0.0.1:0"], "redis://user:s3cret@h:6379/x", /database "x" is not a number/],
      [["failed", config], "redis://user:s3cret@h:6379/x", /database "x" is not a number/],
    ];
    for (const [args, url, reason] of runs) {
      const result = await runCommand(args, { ...process.env, REDIS_URL: url });
      assert.equal(result.code, 2, `${args[0]} ${url}: ${result.stderr}`);
      assert.match(result.stderr, /^pyroscope-relay: --redis\.url \(or REDIS_URL\): invalid Redis URL "redis:\/\/[^"]*\*\*\*@h:6379[^"]*": /);
      assert.match(result.stderr, reason);
      assert.doesNotMatch(result.stderr, /s3cret/);
    }
  });

  it("check validates the relay's flags with the configuration; an operator command ignores the variables of flags it does not take", async () => {
    const config = join(root, "examples/relay.alloy");
    const ok = await runCommand(["check", config, "--redis.url=redis://redis:6379", "--writer.concurrency=8", "--target.backlog-full=reject"]);
    assert.equal(ok.code, 0, ok.stderr);
    const bad = await runCommand(["check", config, "--target.backlog-full=block"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^pyroscope-relay: --target\.backlog-full: expected drop or reject, got "block"\n/);
    const failed = await runCommand(["failed", config], { ...process.env, REDIS_URL: "", RELAY_LOG_LEVEL: "nonsense" });
    assert.equal(failed.code, 2);
    assert.match(failed.stderr, /--redis\.url \(or REDIS_URL\) or --redis\.cluster-nodes is required/);
  });
});

describe("pyroscope-relay's output to a pipe", () => {
  it("arrives whole, however much there is and however slowly it is read", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "relay-output-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const targets = Array.from({ length: 600 }, (_, i) => ({ name: `t${i}`, url: `http://pyroscope-${i}.invalid:4040/${"p".repeat(1_000)}` }));
    const file = join(dir, "relay.alloy");
    await writeFile(file, relayConfig({ port: await freePort(), targets }));
    const child = spawn(process.execPath, [relayMain, "check", file], { stdio: ["ignore", "pipe", "pipe"] });
    // A reader that starts only once the command has exited, or after a while.
    child.stdout.pause();
    const exited = once(child, "exit");
    await Promise.race([exited, sleep(1_000)]);
    let stdout = "";
    const ended = once(child.stdout, "end");
    child.stdout
      .setEncoding("utf8")
      .on("data", (chunk: string) => (stdout += chunk))
      .resume();
    const [code] = (await exited) as [number | null];
    await ended;
    assert.equal(code, 0);
    assert.ok(stdout.length > 512 * 1024, `${stdout.length} characters`);
    const lines = stdout.split("\n");
    assert.equal(lines.filter((line) => line.startsWith("target ")).length, targets.length);
    assert.equal(lines.at(-2), `target t599: ${targets[599]!.url}`);
  });
});

describe("pyroscope-relay as npm installs it", () => {
  it("the bin is a committed, executable file that runs the built command, and the lockfile links the same one", async () => {
    const cli = JSON.parse(await readFile(join(root, "apps/cli/package.json"), "utf8")) as { bin: Record<string, string> };
    const lock = JSON.parse(await readFile(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { bin?: Record<string, string> }> };
    const bin = cli.bin["pyroscope-relay"];
    assert.equal(bin, "./bin/pyroscope-relay.js");
    // npm ci links what the lockfile says, and only a file that exists before the build.
    assert.deepEqual(lock.packages["apps/cli"]?.bin, { "pyroscope-relay": "bin/pyroscope-relay.js" });
    const file = join(root, "apps/cli", bin);
    await access(file, constants.X_OK);
    const result = spawnSync(process.execPath, [file, "--version"], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^pyroscope-relay \d+\.\d+\.\d+\n$/);
  });
});

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

  it("runs a whole Alloy configuration (a file or a directory): the relay's components, the others listed as ignored", async () => {
    // The password file its local.file reads.
    const secrets = await mkdtemp(join(tmpdir(), "relay-check-"));
    await writeFile(join(secrets, "password"), "pw");
    const full = await runCommand(["check", join(root, "examples/alloy-full.alloy")], { ...process.env, PYROSCOPE_PASSWORD_FILE: join(secrets, "password") });
    await rm(secrets, { recursive: true, force: true });
    assert.equal(full.code, 0, full.stderr);
    assert.match(full.stdout, /^local\.file pyroscope_password: .*password$/m);
    assert.match(full.stdout, /^receiver default: /m);
    assert.match(full.stdout, /^target production: /m);
    assert.match(full.stdout, /^ignored logging \(.*alloy-full\.alloy:10:1\)$/m);
    assert.match(full.stdout, /^ignored discovery\.kubernetes "pods" \(.*alloy-full\.alloy:21:1\)$/m);
    assert.match(full.stdout, /^ignored prometheus\.remote_write "metrics" \(/m);
    const dir = await runCommand(["check", join(root, "examples/alloy-dir")]);
    assert.equal(dir.code, 0, dir.stderr);
    assert.match(dir.stdout, /^receiver /m);
    assert.match(dir.stdout, /^ignored .*discovery\.alloy:\d+:\d+\)$/m);
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
    assert.equal(getPriority(relay.child.pid), getPriority(), "run acknowledges: it keeps its CPU priority");
    assert.equal(await ingest(port, gzippedPprof({ seed: 30 })), 200);
    await target.waitForRequests(1, 10_000);
    assert.ok((await readdir(dataDir)).includes("appendonlydir"), "AOF is on");
    assert.ok(existsSync(join(dataDir, "redis.sock")));
    assert.doesNotMatch(relay.output(), /maxmemory-policy|appendonly/i, "no durability warning for the embedded Redis");
    const info = spawnSync("redis-cli", ["-s", join(dataDir, "redis.sock"), "info", "server"], { encoding: "utf8" }).stdout;
    const redisPid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    assert.ok(redisPid > 0, info);
    const code = await relay.stop("SIGTERM");
    assert.equal(code, 0);
    assert.throws(() => process.kill(redisPid, 0), { code: "ESRCH" }, "the embedded redis-server stopped with the relay");
  });

  it("Ctrl-C (SIGINT to the process group) stops the relay first and its embedded Redis last, exit 0", async () => {
    const port = await freePort();
    const relay = await startRelayProcess({ config: receiverConfig(port, { only: target.url }), ownProcessGroup: true });
    assert.equal(await ingest(port, gzippedPprof({ seed: 32 })), 200);
    await target.waitForRequests(1, 10_000);
    const exited = once(relay.child, "exit");
    process.kill(-relay.child.pid!, "SIGINT");
    const [code] = (await exited) as [number | null];
    const redisLog = await readFile(join(relay.dir, "data", "redis.log"), "utf8");
    await relay.stop();
    assert.equal(code, 0, relay.output().slice(-2_000));
    assert.match(relay.output(), /"signal":"SIGINT"[^\n]*"msg":"shutting down"/);
    assert.doesNotMatch(relay.output(), /writer bookkeeping failed|could not hand active jobs back/);
    assert.match(redisLog, /Received SIGTERM/, "the relay stopped its Redis");
    assert.doesNotMatch(redisLog, /Received SIGINT/, "the terminal's signal did not reach the Redis");
  });

  it("the embedded redis-server killed: the relay is no longer ready, shuts down and exits 1 for its supervisor", async () => {
    const port = await freePort();
    const relay = await startRelayProcess({ config: receiverConfig(port, { only: target.url }) });
    const socket = join(relay.dir, "data", "redis.sock");
    const info = spawnSync("redis-cli", ["-s", socket, "info", "server"], { encoding: "utf8" }).stdout;
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    assert.ok(pid > 0, info);
    process.kill(pid, "SIGKILL");
    const code = await Promise.race([relay.stop("SIGCONT"), sleep(40_000).then(() => "still running")]);
    assert.equal(code, 1, relay.output().slice(-2_000));
    assert.match(relay.output(), /"msg":"cannot go on: shutting down \(exit 1\)[^"]*"/);
    assert.match(relay.output(), /the embedded redis-server exited \(code null, signal SIGKILL\)/);
  });

  it("a --storage.path holding #, ? and % works: the embedded Redis is reached by its socket's path", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "relay-odd-path-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const storage = join(dir, "a#b?c=%41%");
    const port = await freePort();
    // The later --storage.path wins over the one the helper gives.
    const relay = await startRelayProcess({ config: receiverConfig(port, { only: target.url }), args: [`--storage.path=${storage}`] });
    t.after(() => relay.stop("SIGKILL"));
    assert.equal(await ingest(port, gzippedPprof({ seed: 33 })), 200);
    await target.waitForRequests(1, 10_000);
    assert.ok(existsSync(join(storage, "redis.sock")));
    assert.equal(await relay.stop("SIGTERM"), 0);
  });

  it("says how to get Redis when redis-server is not installed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "relay-noredis-"));
    try {
      const file = join(dir, "relay.alloy");
      await writeFile(file, receiverConfig(await freePort(), { only: target.url }));
      const result = await runCommand(["run", file, `--storage.path=${join(dir, "data")}`, "--server.http.listen-addr=127.0.0.1:0"], {
        PATH: dirname(process.execPath),
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /redis-server/);
      assert.match(result.stderr, /apt-get install redis-server/);
      assert.match(result.stderr, /docker run -d -p 127\.0\.0\.1:6379:6379 redis:/, "a Redis the relay on this host can reach");
      assert.match(result.stderr, /--redis\.url/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("--redis.min-replicas without a Redis of one's own is a usage error: the embedded Redis has no replicas", async () => {
    const dir = await mkdtemp(join(tmpdir(), "relay-replicas-"));
    try {
      const file = join(dir, "relay.alloy");
      await writeFile(file, receiverConfig(await freePort(), { only: target.url }));
      const result = await runCommand(["run", file, `--storage.path=${join(dir, "data")}`, "--server.http.listen-addr=127.0.0.1:0", "--redis.min-replicas=1"], {
        ...process.env,
        REDIS_URL: "",
      });
      assert.equal(result.code, 2, result.stderr);
      const refused = /--redis\.min-replicas \(or RELAY_REDIS_MIN_REPLICAS\): needs --redis\.url or --redis\.cluster-nodes: the embedded Redis has no replicas/;
      assert.match(result.stderr, refused);
      assert.equal(existsSync(join(dir, "data", "redis.sock")), false, "no embedded Redis was started");
      // check says so too: it validates a process' flags before the process runs.
      const checked = await runCommand(["check", file, "--redis.min-replicas=1"], { ...process.env, REDIS_URL: "" });
      assert.equal(checked.code, 2, checked.stderr);
      assert.match(checked.stderr, refused);
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

  it("while it waits for Redis at start the ops server answers: healthy and metrics 200, ready and the admin API 503; then ready", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "relay-wait-"));
    const file = join(dir, "relay.alloy");
    await writeFile(file, receiverConfig(await freePort(), { only: a.url }));
    const opsUrl = `http://127.0.0.1:${await freePort()}`;
    // Its Redis is not there yet: the socket appears once the test starts one.
    const child = spawn(
      process.execPath,
      [relayMain, "ingest", file, `--redis.url=unix://${join(dir, "redis.sock")}`, `--server.http.listen-addr=${opsUrl.slice(7)}`],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    let redisLater: RedisServerHandle | undefined;
    t.after(async () => {
      child.kill("SIGTERM");
      await exited;
      await redisLater?.stop();
      await rm(dir, { recursive: true, force: true });
    });
    const get = (path: string) => fetch(`${opsUrl}${path}`).then(async (res) => ({ status: res.status, text: await res.text() }));
    for (const deadline = Date.now() + 5_000; ; await sleep(20)) {
      if ((await get("/-/healthy").catch(() => undefined))?.status === 200) break;
      assert.ok(Date.now() < deadline, `no ops server while waiting for Redis: ${output}`);
    }
    assert.deepEqual(await get("/-/ready"), { status: 503, text: "Not ready" });
    const status = await get("/api/v1/status");
    assert.equal(status.status, 503);
    assert.deepEqual(JSON.parse(status.text), { error: "the relay is starting: Redis is not ready yet" });
    assert.match((await get("/metrics")).text, /^pyroscope_relay_build_info\{/m);

    redisLater = await startRedisServer({ dir });
    for (const deadline = Date.now() + 10_000; (await get("/-/ready")).status !== 200; await sleep(50)) {
      assert.ok(Date.now() < deadline, `not ready once Redis answers: ${output}`);
    }
    assert.equal((await get("/api/v1/status")).status, 200);
    assert.equal(child.exitCode, null);
  });

  it("a SIGHUP while the process waits for Redis at start is logged, not fatal", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "relay-hup-"));
    try {
      const file = join(dir, "relay.alloy");
      await writeFile(file, receiverConfig(await freePort(), { only: a.url }));
      // A "Redis" that takes connections and never answers: the process waits for it (up to 10 s).
      const silent = createNetServer(() => undefined).listen(0, "127.0.0.1");
      await once(silent, "listening");
      t.after(() => silent.close());
      const { port } = silent.address() as AddressInfo;
      const child = spawn(process.execPath, [relayMain, "ingest", file, `--redis.url=redis://127.0.0.1:${port}`, "--server.http.listen-addr=127.0.0.1:0"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      // Once it handles SIGHUP (Linux: the signal's bit in SigCgt), which it does before it waits for Redis.
      const handlesHangUp = async () =>
        (BigInt(`0x${/^SigCgt:\s*([0-9a-f]+)$/m.exec(await readFile(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? "0"}`) & 1n) === 1n;
      for (const deadline = Date.now() + 10_000; !(await handlesHangUp()); ) {
        assert.ok(Date.now() < deadline, `no SIGHUP handler: ${output}`);
        await sleep(20);
      }
      child.kill("SIGHUP");
      await pollUntil("the SIGHUP to be logged", () => /SIGHUP while starting/.test(output) || child.exitCode !== null || child.signalCode !== null);
      await sleep(500);
      assert.deepEqual([child.exitCode, child.signalCode], [null, null], "still running");
      assert.match(output, /SIGHUP while starting/);
      child.kill("SIGKILL");
      await exited;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
    const writerA = await startRelayProcess({ command: "writer", config, args: [...args, "--target", "a"], writerPriority: "deployed" });
    try {
      // Children start with this process' policy and nice value; a writer switches to SCHED_IDLE (--writer.nice=idle).
      const started = getPriority();
      assert.deepEqual(await threadPolicies(writerA.child.pid!), [schedIdle], "a writer switches each of its threads to SCHED_IDLE");
      assert.deepEqual(await threadPolicies(ingestProcess.child.pid!), [schedOther], "ingest keeps its scheduling policy");
      assert.deepEqual(await threadPriorities(ingestProcess.child.pid!), [started], "ingest keeps its CPU priority");
      assert.match(ingestProcess.output(), /appendonly|AOF/i, "a Redis without AOF is warned about");
      const body = gzippedPprof({ seed: 31 });
      assert.equal(await ingest(port, body), 200);
      await a.waitForRequests(1, 10_000);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(b.requests.length, 0, "nobody serves target b yet");
      const writerB = await startRelayProcess({ command: "writer", config, args: [...args, "--target=b", "--writer.nice=0"] });
      try {
        assert.deepEqual(await threadPriorities(writerB.child.pid!), [started], "--writer.nice=0 leaves the priority as started");
        assert.deepEqual(await threadPolicies(writerB.child.pid!), [schedOther], "--writer.nice=0 leaves the policy as started");
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

  it("a writer lowers itself to a nice value when asked, and to nice 19 where SCHED_IDLE cannot be had", async () => {
    const config = receiverConfig(await freePort(), { a: a.url });
    const args = [`--redis.url=${redis.url}`, "--target=a"];
    const started = getPriority();
    const niced = await startRelayProcess({ command: "writer", config, args: [...args, "--writer.nice=10"] });
    try {
      assert.deepEqual(await threadPriorities(niced.child.pid!), [Math.max(started, 10)], "--writer.nice=10 lowers each thread to nice 10");
      assert.deepEqual(await threadPolicies(niced.child.pid!), [schedOther]);
    } finally {
      assert.equal(await niced.stop(), 0);
    }
    // Without chrt on its PATH the writer cannot change its policy: it says so and takes the lowest nice value.
    const fallback = await startRelayProcess({ command: "writer", config, args, env: { PATH: "/nonexistent" }, writerPriority: "deployed" });
    try {
      assert.deepEqual(await threadPolicies(fallback.child.pid!), [schedOther]);
      assert.deepEqual(await threadPriorities(fallback.child.pid!), [19], "each thread at nice 19");
      assert.match(fallback.output(), /could not switch the writer to SCHED_IDLE/);
    } finally {
      assert.equal(await fallback.stop(), 0);
    }
  });
});
