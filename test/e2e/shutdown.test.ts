import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { gzippedPprof, pollUntil, startFakeTarget, startRedisServer, freePort } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisServerHandle } from "@pyroscope-relay/testing";
import { relayConfig } from "./support/relay-config.js";
import { relayMain, startRelayProcess } from "./support/relay-process.js";
import type { RelayProcess } from "./support/relay-process.js";

/** The connections the relay's receivers hold open now, as its /metrics has them. */
async function receiverConnections(relay: RelayProcess): Promise<number> {
  const metrics = await (await fetch(`${relay.opsUrl}/metrics`)).text();
  return [...metrics.matchAll(/^pyroscope_receive_http_tcp_connections\{[^}]*\} (\d+)$/gm)].reduce((sum, [, count]) => sum + Number(count), 0);
}

/** A Redis and a fake target for a suite: started before its tests, stopped after them. */
function redisAndTarget(): { redis: RedisServerHandle; target: FakeTarget } {
  const suite = {} as { redis: RedisServerHandle; target: FakeTarget };
  before(async () => {
    suite.redis = await startRedisServer();
    suite.target = await startFakeTarget();
  });
  after(async () => {
    await suite.target?.close();
    await suite.redis?.stop();
  });
  return suite;
}

describe("SIGTERM: readiness turns 503, in-flight requests finish, nothing is lost, exit 0", () => {
  const suite = redisAndTarget();

  it("an upload in progress at SIGTERM is answered 200 and delivered, by the stopping process or the next writer", async (t) => {
    const { redis, target } = suite;
    const port = await freePort();
    const config = relayConfig({ port, targets: [{ name: "held", url: target.url }] });
    const args = [`--redis.url=${redis.url}`];
    const relay = await startRelayProcess({ config, args });
    t.after(() => relay.stop("SIGKILL"));
    target.hold();
    const first = gzippedPprof({ seed: 40 });
    // Its connection closed after the answer: the upload below is then the receiver's only one.
    const accepted = await fetch(`http://127.0.0.1:${port}/ingest?name=shutdown&n=1`, { method: "POST", body: first, headers: { connection: "close" } });
    assert.equal(accepted.status, 200);
    await target.waitForRequests(1, 10_000);
    await pollUntil("the first request's connection to close", async () => (await receiverConnections(relay)) === 0);

    // A client is halfway through its upload when the process is told to stop.
    const second = gzippedPprof({ seed: 41 });
    const upload = request({ host: "127.0.0.1", port, method: "POST", path: "/ingest?name=shutdown&n=2", headers: { "Content-Length": second.length } });
    const answered = new Promise<number>((resolve, reject) => {
      upload.once("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      upload.once("error", reject);
    });
    upload.write(second.subarray(0, 100));
    await pollUntil("the relay to take the upload's connection", async () => (await receiverConnections(relay)) === 1);
    // And time to read the headers and bytes that came with it (which tell HTTP/1.1 from HTTP/2).
    await sleep(1_000);
    const exited = relay.stop("SIGTERM");

    let readiness = 0;
    for (let i = 0; i < 50 && readiness !== 503; i++) {
      readiness = await fetch(`${relay.opsUrl}/-/ready`).then(
        (r) => r.status,
        () => 0,
      );
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(readiness, 503, "readiness turns 503 while the process drains");
    const reload = await fetch(`${relay.opsUrl}/-/reload`, { method: "POST" });
    assert.deepEqual(
      [reload.status, await reload.text()],
      [503, "the process is shutting down: configuration not reloaded\n"],
      "nor does it reload: 503, nothing changed, as while it starts",
    );

    upload.end(second.subarray(100));
    assert.equal(await answered, 200, "the request in flight finishes its enqueue and is answered");
    target.release();
    assert.equal(await exited, 0);

    // The stopping process' writer runs until the listeners have drained, so it may deliver the
    // second profile itself; if not, it waited in Redis and the next writer delivers it.
    const writer = await startRelayProcess({ command: "writer", config, args });
    try {
      const requests = await target.waitForRequests(2, 15_000);
      const bodies = requests.map((r) => r.body);
      t.diagnostic(`delivered ${requests.length} request(s) for 2 acknowledged profiles`);
      assert.ok(bodies.some((b) => b.equals(first)));
      assert.ok(bodies.some((b) => b.equals(second)));
    } finally {
      assert.equal(await writer.stop(), 0);
    }
  });
});

describe("a signal repeated while the relay shuts down is ignored: the graceful shutdown goes on, exit 0", () => {
  const suite = redisAndTarget();

  it("a SIGTERM and a SIGINT in quick succession while a delivery is under way: it finishes, and the process exits 0; a third signal stops it at once", async (t) => {
    const { redis, target } = suite;
    const port = await freePort();
    const relay = await startRelayProcess({ config: relayConfig({ port, targets: [{ name: "held", url: target.url }] }), args: [`--redis.url=${redis.url}`] });
    t.after(() => relay.stop("SIGKILL"));
    target.hold();
    const res = await fetch(`http://127.0.0.1:${port}/ingest?name=repeated&n=1`, { method: "POST", body: gzippedPprof({ seed: 42 }) });
    assert.equal(res.status, 200);
    await target.waitForRequests(1, 10_000);
    const exited = new Promise<number | null>((resolve) => relay.child.once("exit", (code) => resolve(code)));
    const ignored = () => relay.output().match(/"signal":"SIG(TERM|INT)"[^\n]*"msg":"shutting down already: signal ignored/g)?.length ?? 0;
    const until = (what: string, done: () => boolean) =>
      pollUntil(what, () => {
        assert.deepEqual([relay.child.exitCode, relay.child.signalCode], [null, null], relay.output().slice(-2_000));
        return done();
      });
    relay.child.kill("SIGTERM");
    // The writer waits for the delivery it holds: the process is shutting down until the target answers.
    await until("the shutdown to begin", () => /"msg":"shutting down"/.test(relay.output()));
    // Each once the one before was handled: the kernel merges a signal sent while the same one is pending.
    relay.child.kill("SIGINT");
    await until("the SIGINT to be ignored", () => ignored() === 1);
    target.release();
    assert.equal(await exited, 0, relay.output().slice(-2_000));
    assert.match(relay.output(), /"msg":"stopped"/);

    // Ctrl-C pressed again (npm passes each one on as well): the third signal ends it.
    const second = await startRelayProcess({ config: relayConfig({ port, targets: [{ name: "held", url: target.url }] }), args: [`--redis.url=${redis.url}`] });
    t.after(() => second.stop("SIGKILL"));
    target.hold();
    t.after(() => target.release());
    const held = await fetch(`http://127.0.0.1:${port}/ingest?name=repeated&n=2`, { method: "POST", body: gzippedPprof({ seed: 43 }) });
    assert.equal(held.status, 200);
    await target.waitForRequests(2, 10_000);
    const forced = new Promise<number | null>((resolve) => second.child.once("exit", (code) => resolve(code)));
    const ignoredBySecond = () => second.output().match(/"msg":"shutting down already: signal ignored/g)?.length ?? 0;
    second.child.kill("SIGINT");
    await pollUntil("the shutdown to begin", () => /"msg":"shutting down"/.test(second.output()));
    second.child.kill("SIGINT");
    await pollUntil("the second signal to be ignored", () => ignoredBySecond() >= 1);
    second.child.kill("SIGINT");
    assert.equal(await Promise.race([forced, sleep(5_000, "still running")]), 130, second.output().slice(-2_000));
    assert.match(second.output(), /"msg":"stopped at once by a third signal/);
  });
});

describe("SIGTERM while waiting for a Redis that is not up: exit 0 at once", () => {
  it("ingest and writer stop where they wait, without waiting out the deadline", async () => {
    const dir = await mkdtemp(join(tmpdir(), "relay-wait-stop-"));
    try {
      const config = join(dir, "relay.alloy");
      await writeFile(config, relayConfig({ port: await freePort(), targets: [{ name: "t", url: "http://127.0.0.1:1" }] }));
      for (const command of ["ingest", "writer"]) {
        const opsPort = await freePort();
        const child = spawn(
          process.execPath,
          [relayMain, command, config, `--redis.url=redis://127.0.0.1:${await freePort()}`, `--server.http.listen-addr=127.0.0.1:${opsPort}`],
          { stdio: ["ignore", "pipe", "pipe"] },
        );
        let output = "";
        for (const stream of [child.stdout!, child.stderr!]) stream.on("data", (d: Buffer) => (output += d.toString()));
        const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
        // Up, and waiting for Redis: health answers, readiness does not.
        await pollUntil(
          `${command} to answer /-/healthy`,
          async () =>
            (await fetch(`http://127.0.0.1:${opsPort}/-/healthy`).then(
              (r) => r.status,
              () => 0,
            )) === 200,
          { everyMs: 50 },
        );
        assert.equal((await fetch(`http://127.0.0.1:${opsPort}/-/ready`)).status, 503);
        const signalled = Date.now();
        child.kill("SIGTERM");
        const code = await exited;
        assert.equal(code, 0, `${command}: ${output}`);
        assert.ok(Date.now() - signalled < 5_000, `${command} stopped ${Date.now() - signalled} ms after SIGTERM`);
        assert.match(output, /stopped while starting/);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("SIGTERM to a writer whose Redis stopped answering: exit 0 within compose's 30 s grace", () => {
  const suite = redisAndTarget();

  it("the grace for deliveries, then one bound for handing back and bookkeeping; connections that are down close at once", { timeout: 120_000 }, async (t) => {
    const { redis, target } = suite;
    const port = await freePort();
    const config = relayConfig({ port, targets: [{ name: "held", url: target.url }] });
    const args = [`--redis.url=${redis.url}`];
    const ingest = await startRelayProcess({ command: "ingest", config, args });
    const accepted = await fetch(`http://127.0.0.1:${port}/ingest?name=frozen-redis`, { method: "POST", body: gzippedPprof({ seed: 42 }) });
    assert.equal(accepted.status, 200);
    assert.equal(await ingest.stop(), 0);

    target.hold();
    t.after(() => target.release());
    const writer = await startRelayProcess({ command: "writer", config, args });
    t.after(() => writer.stop("SIGKILL"));
    await target.waitForRequests(1, 15_000);
    // A frozen Redis host: its connections stay open and nothing answers (the harder case than a
    // Redis that is gone, whose connections fail at once).
    const info = spawnSync("redis-cli", ["-s", redis.socketPath, "info", "server"], { encoding: "utf8" }).stdout;
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    assert.ok(pid > 0, info);
    process.kill(pid, "SIGSTOP");
    try {
      const signalled = Date.now();
      const code = await writer.stop("SIGTERM");
      const took = Date.now() - signalled;
      t.diagnostic(`writer exited ${took} ms after SIGTERM`);
      assert.equal(code, 0, writer.output());
      // 20 s of grace for deliveries, 5 s to hand back and finish bookkeeping, 2 s for a QUIT unanswered.
      assert.ok(took < 30_000, `exited ${took} ms after SIGTERM`);
      assert.match(writer.output(), /could not hand active jobs back/);
    } finally {
      process.kill(pid, "SIGCONT");
    }
  });
});
