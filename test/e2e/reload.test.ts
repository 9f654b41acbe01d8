import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { once } from "node:events";
import { Agent, request } from "node:http";
import { createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { gzippedPprof, startFakeTarget, startRedisServer, freePort } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisServerHandle } from "@pyroscope-relay/testing";
import { relayConfig } from "./support/relay-config.js";
import { startRelayProcess } from "./support/relay-process.js";
import type { RelayProcess } from "./support/relay-process.js";
import { runCommand } from "./support/run-command.js";

/** A relay forwarding to one fake target, `name`, for a suite: started before its tests, stopped after them. */
function relayToOneTarget(name: string): { target: FakeTarget; relay: RelayProcess; port: number } {
  const suite = {} as { target: FakeTarget; relay: RelayProcess; port: number };
  before(async () => {
    suite.target = await startFakeTarget();
    suite.port = await freePort();
    suite.relay = await startRelayProcess({ config: relayConfig({ port: suite.port, targets: [{ name, url: suite.target.url }] }) });
  });
  after(async () => {
    await suite.relay?.stop();
    await suite.target?.close();
  });
  return suite;
}

describe("reload: SIGHUP and POST /-/reload re-read the configuration without a restart", () => {
  let a: FakeTarget;
  let b: FakeTarget;
  let relay: RelayProcess;
  let port: number;
  let secondPort: number;
  let configPath: string;
  const send = async (name: string, at = port) => {
    const res = await fetch(`http://127.0.0.1:${at}/ingest?name=${name}&format=pprof`, { method: "POST", body: gzippedPprof({ seed: 3 }) });
    assert.equal(res.status, 200, await res.text());
  };
  const received = (target: FakeTarget, name: string) => target.requests.some((r) => new URLSearchParams(r.query).get("name")?.startsWith(name));
  const eventually = async (probe: () => boolean | Promise<boolean>, what: string) => {
    const deadline = Date.now() + 15_000;
    while (!(await probe())) {
      if (Date.now() > deadline) throw new Error(`timed out: ${what}\n${relay.output().slice(-3_000)}`);
      await sleep(50);
    }
  };
  const reload = () => fetch(`${relay.opsUrl}/-/reload`, { method: "POST" }).then(async (res) => ({ status: res.status, text: await res.text() }));

  before(async () => {
    a = await startFakeTarget();
    b = await startFakeTarget();
    port = await freePort();
    secondPort = await freePort();
    relay = await startRelayProcess({ config: relayConfig({ port, targets: [{ name: "a", url: a.url }] }), args: ["--log.level=info"] });
    configPath = join(relay.dir, "relay.alloy");
  });

  after(async () => {
    await relay?.stop();
    await a?.close();
    await b?.close();
  });

  it("POST /-/reload adds a target: the receiver forwards to it at once, on the same listener", async () => {
    await send("first");
    await eventually(() => received(a, "first"), "a got the first profile");
    await writeFile(
      configPath,
      relayConfig({
        port,
        targets: [
          { name: "a", url: a.url },
          { name: "b", url: b.url },
        ],
      }),
    );
    assert.deepEqual(await reload(), { status: 200, text: "config reloaded\n" });
    await send("second");
    await eventually(() => received(a, "second") && received(b, "second"), "both targets got the second profile");
    assert.equal(received(b, "first"), false, "b gets only what came after it was added");
    await eventually(() => /"msg":"configuration reloaded"/.test(relay.output()), "the reload is logged");
  });

  it("SIGHUP removes a target: nothing more goes to it and its queue stays in Redis, listed by failed", async () => {
    a.hold();
    await send("held");
    await eventually(() => received(a, "held"), "a is delivering the held profile");
    // A new receiver on another port too, while a's delivery is in flight.
    const both = relayConfig({ port, targets: [{ name: "b", url: b.url }] });
    const extra = `\npyroscope.receive_http "second" {\n  http {\n    listen_address = "127.0.0.1"\n    listen_port    = ${secondPort}\n  }\n  forward_to = [pyroscope.write.b.receiver]\n}\n`;
    await writeFile(configPath, both + extra);
    relay.child.kill("SIGHUP");
    await eventually(() => (relay.output().match(/"msg":"configuration reloaded"/g) ?? []).length === 2, "the second reload is done");
    a.release();
    const before = a.requests.length;
    await send("third");
    await send("fourth", secondPort);
    await eventually(() => received(b, "third") && received(b, "fourth"), "b got both, through both receivers");
    await sleep(300);
    assert.equal(a.requests.length, before, "a gets nothing after its removal");
    await eventually(() => /"target":"a".*target removed from the configuration: its queue stays in Redis/.test(relay.output()), "a's removal is logged");
    const failed = await runCommand(["failed", configPath, `--redis.url=unix://${join(relay.dir, "data", "redis.sock")}`, "--json"]);
    assert.equal(failed.code, 0, failed.stderr);
    const summaries = (JSON.parse(failed.stdout) as { targets: { target: string; removed?: boolean }[] }).targets;
    assert.deepEqual(
      summaries.map((s) => [s.target, s.removed ?? false]),
      [
        ["b", false],
        ["a", true],
      ],
    );
    const one = await runCommand(["failed", configPath, `--redis.url=unix://${join(relay.dir, "data", "redis.sock")}`, "--target=a"]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /^a \(removed from the configuration; its queue still holds \d+ profiles?\)/);
    const purge = await runCommand(["purge", configPath, `--redis.url=unix://${join(relay.dir, "data", "redis.sock")}`, "--target=a"]);
    assert.equal(purge.code, 0, purge.stderr);
    assert.match(purge.stdout, /^purged \d+ failed batch(es)? \(\d+ profiles?\) of a;/);
  });

  it("an invalid file keeps the running configuration: 400 with the error at its position, logged, and profiles still flow", async () => {
    await writeFile(configPath, `pyroscope.write "b" {\n  endpoint {\n    url = "${b.url}"\n    colour = "blue"\n  }\n}\n`);
    const refused = await reload();
    assert.equal(refused.status, 400);
    assert.match(refused.text, /relay\.alloy:4:5: .*colour/);
    // The answer may arrive before the process' log line does.
    await eventually(() => /"msg":"configuration not reloaded: the running one stays"/.test(relay.output()), "the refusal is logged");
    await send("fifth");
    await eventually(() => received(b, "fifth"), "b still gets profiles");
  });

  it("a file that reloads with something ignored says so, as at start", async () => {
    await writeFile(configPath, relayConfig({ port, targets: [{ name: "b", url: b.url, write: "  tracing {\n    jaeger_propagator = false\n  }" }] }));
    const reloaded = await reload();
    assert.equal(reloaded.status, 200, reloaded.text);
    await eventually(() => /relay\.alloy:\d+:\d+: pyroscope\.write \\"b\\": the tracing block is ignored/.test(relay.output()), "the warning is logged");
  });
});

describe("reload: a receiver's debuginfo calls follow its first target's endpoint", () => {
  let a: FakeTarget;
  let b: FakeTarget;
  let relay: RelayProcess;
  let port: number;
  const debuginfoCalls = (target: FakeTarget) => target.requests.filter((r) => r.path.endsWith("/ShouldInitiateUpload")).length;
  // The fake targets answer no debuginfo call as Pyroscope would: what counts is where it went.
  const askToUpload = () =>
    fetch(`http://127.0.0.1:${port}/debuginfo.v1alpha1.DebuginfoService/ShouldInitiateUpload`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ file: { gnuBuildId: "reload-build", name: "app" } }),
    }).then((res) => res.arrayBuffer());

  before(async () => {
    a = await startFakeTarget();
    b = await startFakeTarget();
    port = await freePort();
    relay = await startRelayProcess({ config: relayConfig({ port, targets: [{ name: "t", url: a.url }] }) });
  });

  after(async () => {
    await relay?.stop();
    await a?.close();
    await b?.close();
  });

  it("only the target's url changes: the next call goes to the new one, on the same listener", async () => {
    await askToUpload();
    assert.equal(debuginfoCalls(a), 1);
    // A connection kept alive across the reload: a restarted listener would have closed it.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets: unknown[] = [];
    agent.on("free", (socket) => sockets.includes(socket) || sockets.push(socket));
    const ingest = (name: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ agent, host: "127.0.0.1", port, method: "POST", path: `/ingest?name=${name}&format=pprof` }, (res) => {
          res.resume().on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("error", reject);
        req.end(gzippedPprof({ seed: 6 }));
      });
    assert.equal(await ingest("before"), 200);
    await writeFile(
      join(relay.dir, "relay.alloy"),
      relayConfig({ port, targets: [{ name: "t", url: b.url, endpoint: '    headers = { "X-Reloaded" = "yes" }' }] }),
    );
    const res = await fetch(`${relay.opsUrl}/-/reload`, { method: "POST" });
    assert.equal(res.status, 200, await res.text());
    await askToUpload();
    assert.deepEqual([debuginfoCalls(a), debuginfoCalls(b)], [1, 1]);
    assert.equal(b.requests.at(-1)?.headers["x-reloaded"], "yes", "with the target's new settings");
    assert.equal(await ingest("after"), 200);
    assert.equal(sockets.length, 1, "one connection before and after the reload");
    agent.destroy();
    assert.equal((relay.output().match(/"msg":"receiver listening"/g) ?? []).length, 1, "the receiver was not restarted");
  });
});

describe("reload: a request under way on a receiver that restarts still names the target it had", () => {
  const suite = relayToOneTarget("old");

  it("the target renamed and the receiver restarted: the request's profile is stored, 200, not refused", async () => {
    const { target: a, relay, port } = suite;
    const body = gzippedPprof({ seed: 4 });
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port, method: "POST", path: "/ingest?name=underway&format=pprof", headers: { "content-length": body.length } },
        (res) => {
          let text = "";
          res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on("error", reject);
      req.write(body.subarray(0, 10));
      // The rest once the reload (asked for 300 ms in) has begun closing the receiver, which waits for
      // this request: well after, as a busy machine may take a while to get there.
      setTimeout(() => req.end(body.subarray(10)), 3_000);
    });
    await sleep(300);
    // A new name for the target, and a setting that restarts the receiver.
    await writeFile(join(relay.dir, "relay.alloy"), relayConfig({ port, targets: [{ name: "renamed", url: a.url }], http: "    conn_limit = 50" }));
    const reloaded = fetch(`${relay.opsUrl}/-/reload`, { method: "POST" }).then(async (res) => ({ status: res.status, text: await res.text() }));
    assert.deepEqual(await answer, { status: 200, text: "" });
    assert.deepEqual(await reloaded, { status: 200, text: "config reloaded\n" });
    const res = await fetch(`http://127.0.0.1:${port}/ingest?name=after&format=pprof`, { method: "POST", body: gzippedPprof({ seed: 5 }) });
    assert.equal(res.status, 200, await res.text());
    assert.doesNotMatch(relay.output(), /unknown target/);
    assert.match(relay.output(), /"target":"old","profiles":1,"msg":"profiles that closing receivers finished were stored for a removed target/);
  });
});

describe("reload: a receiver that could not start is started by the next reload", () => {
  const suite = relayToOneTarget("a");

  it("its port taken: 400; the port freed, the same file reloads and the receiver listens", async () => {
    const { target: a, relay, port } = suite;
    const busyPort = await freePort();
    const squatter = createNetServer().listen(busyPort, "127.0.0.1");
    await once(squatter, "listening");
    const second = `\npyroscope.receive_http "second" {\n  http {\n    listen_address = "127.0.0.1"\n    listen_port    = ${busyPort}\n  }\n  forward_to = [pyroscope.write.a.receiver]\n}\n`;
    await writeFile(join(relay.dir, "relay.alloy"), relayConfig({ port, targets: [{ name: "a", url: a.url }] }) + second);
    const reload = () => fetch(`${relay.opsUrl}/-/reload`, { method: "POST" }).then(async (res) => ({ status: res.status, text: await res.text() }));
    const refused = await reload();
    assert.equal(refused.status, 400);
    assert.match(refused.text, /cannot listen on 127\.0\.0\.1:\d+/);
    await new Promise((resolve) => squatter.close(resolve));
    assert.deepEqual(await reload(), { status: 200, text: "config reloaded\n" });
    const res = await fetch(`http://127.0.0.1:${busyPort}/ingest?name=second&format=pprof`, { method: "POST", body: gzippedPprof({ seed: 7 }) });
    assert.equal(res.status, 200, await res.text());
  });
});

describe("reload: whole or not at all, when a receiver cannot listen where the new file says", () => {
  let a: FakeTarget;
  let b: FakeTarget;
  let relay: RelayProcess;
  let first: number;
  let second: number;
  let busyPort: number;
  const receiver = (label: string, port: number, target: string) =>
    `\npyroscope.receive_http "${label}" {\n  http {\n    listen_address = "127.0.0.1"\n    listen_port    = ${port}\n  }\n  forward_to = [pyroscope.write.${target}.receiver]\n}\n`;
  const write = (name: string, url: string) => `\npyroscope.write "${name}" {\n  endpoint {\n    url = "${url}"\n  }\n}\n`;
  const config = (receivers: string) => receivers + write("a", a.url) + write("b", b.url);
  const reload = () => fetch(`${relay.opsUrl}/-/reload`, { method: "POST" }).then(async (res) => ({ status: res.status, text: await res.text() }));
  const send = (port: number, name: string) =>
    fetch(`http://127.0.0.1:${port}/ingest?name=${name}&format=pprof`, { method: "POST", body: gzippedPprof({ seed: 11 }) }).then((res) => res.status);
  const reaches = async (target: FakeTarget, name: string) => {
    const deadline = Date.now() + 15_000;
    while (!target.requests.some((r) => new URLSearchParams(r.query).get("name")?.startsWith(name))) {
      if (Date.now() > deadline) throw new Error(`timed out: ${name} at its target\n${relay.output().slice(-3_000)}`);
      await sleep(50);
    }
  };

  before(async () => {
    a = await startFakeTarget();
    b = await startFakeTarget();
    first = await freePort();
    second = await freePort();
    busyPort = await freePort();
    relay = await startRelayProcess({ config: config(receiver("first", first, "a") + receiver("second", second, "b")) });
  });

  after(async () => {
    await relay?.stop();
    await a?.close();
    await b?.close();
  });

  it("its new port taken: 400, and every receiver keeps listening as before, the old configuration whole", async () => {
    const squatter = createNetServer().listen(busyPort, "127.0.0.1");
    await once(squatter, "listening");
    try {
      // `second` moves to the taken port, `first` to b, and target a goes: none of it may take.
      await writeFile(join(relay.dir, "relay.alloy"), receiver("first", first, "b") + receiver("second", busyPort, "b") + write("b", b.url));
      // An upload under way on `second` holds the reload while it closes that receiver; meanwhile
      // `first` stores profiles for a, which the refused file would remove: a stays, so no warning
      // may say they wait for a removed target.
      const body = gzippedPprof({ seed: 12 });
      const underway = new Promise<number>((resolve, reject) => {
        const req = request(
          { host: "127.0.0.1", port: second, method: "POST", path: "/ingest?name=underway&format=pprof", headers: { "content-length": body.length } },
          (res) => {
            res.resume().on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("error", reject);
        req.write(body.subarray(0, 10));
        setTimeout(() => req.end(body.subarray(10)), 1_000);
      });
      await sleep(200);
      const reloading = reload();
      for (let i = 0; i < 5; i++) {
        await sleep(100);
        assert.equal(await send(first, `during-${i}`), 200);
      }
      assert.equal(await underway, 200);
      const refused = await reloading;
      assert.equal(refused.status, 400);
      assert.match(refused.text, /receive_http "second": cannot listen on 127\.0\.0\.1:\d+.*: the running configuration stays\n$/);
      assert.equal(await send(second, "kept-second"), 200, "the old listener of the receiver that could not move");
      assert.equal(await send(first, "kept-first"), 200);
      await reaches(b, "kept-second");
      await reaches(a, "kept-first");
      assert.equal((await fetch(`${relay.opsUrl}/-/ready`)).status, 200);
      assert.doesNotMatch(relay.output(), /stored for a removed target/);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it("two receivers swap ports in one reload", async () => {
    await writeFile(join(relay.dir, "relay.alloy"), config(receiver("first", second, "a") + receiver("second", first, "b")));
    assert.deepEqual(await reload(), { status: 200, text: "config reloaded\n" });
    assert.equal(await send(second, "swapped-first"), 200);
    assert.equal(await send(first, "swapped-second"), 200);
    await reaches(a, "swapped-first");
    await reaches(b, "swapped-second");
  });
});

describe("reload: a refused file records none of its targets", () => {
  const suite = relayToOneTarget("a");

  it("a new target whose receiver cannot listen: 400, and failed does not list the target as removed", async () => {
    const { target: a, relay, port } = suite;
    const busyPort = await freePort();
    const squatter = createNetServer().listen(busyPort, "127.0.0.1");
    await once(squatter, "listening");
    const configPath = join(relay.dir, "relay.alloy");
    const running = relayConfig({ port, targets: [{ name: "a", url: a.url }] });
    try {
      const foo = `\npyroscope.write "foo" {\n  endpoint {\n    url = "${a.url}"\n  }\n}\n`;
      const second = `\npyroscope.receive_http "second" {\n  http {\n    listen_address = "127.0.0.1"\n    listen_port    = ${busyPort}\n  }\n  forward_to = [pyroscope.write.foo.receiver]\n}\n`;
      await writeFile(configPath, running + foo + second);
      const refused = await fetch(`${relay.opsUrl}/-/reload`, { method: "POST" });
      assert.equal(refused.status, 400, await refused.text());
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    await writeFile(configPath, running);
    const failed = await runCommand(["failed", configPath, `--redis.url=unix://${join(relay.dir, "data", "redis.sock")}`, "--json"]);
    assert.equal(failed.code, 0, failed.stderr);
    assert.deepEqual(
      (JSON.parse(failed.stdout) as { targets: { target: string }[] }).targets.map((summary) => summary.target),
      ["a"],
    );
  });
});

describe("reload: a Redis that does not answer fails a reload in bounded time, and a shutdown does not wait on it", () => {
  let redis: RedisServerHandle;
  let redisPid: number;

  before(async () => {
    redis = await startRedisServer();
    const info = spawnSync("redis-cli", ["-s", redis.socketPath, "info", "server"], { encoding: "utf8" }).stdout;
    redisPid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    assert.ok(redisPid > 0, info);
  });

  after(async () => {
    await redis?.stop();
  });

  it("Redis stopped (SIGSTOP): /-/reload answers 503 within seconds, and one under way at SIGTERM does not hold the shutdown", async (t) => {
    const port = await freePort();
    const relay = await startRelayProcess({
      config: relayConfig({ port, targets: [{ name: "a", url: "http://127.0.0.1:1" }] }),
      args: [`--redis.url=${redis.url}`, "--log.level=info"],
    });
    t.after(() => relay.stop("SIGKILL"));
    process.kill(redisPid, "SIGSTOP");
    t.after(() => process.kill(redisPid, "SIGCONT"));

    const asked = Date.now();
    const res = await fetch(`${relay.opsUrl}/-/reload`, { method: "POST", signal: AbortSignal.timeout(15_000) });
    const text = await res.text();
    assert.equal(res.status, 503, text);
    assert.match(text, /Redis/);
    assert.ok(Date.now() - asked < 5_000, `answered after ${Date.now() - asked} ms`);

    // Another reload, under way when SIGTERM comes: it gives up while Redis is still stopped, and the
    // shutdown that waited for it goes on.
    const notReloaded = () => relay.output().match(/"msg":"configuration not reloaded: nothing changed, reload again later"/g)?.length ?? 0;
    relay.child.kill("SIGHUP");
    await sleep(200);
    relay.child.kill("SIGTERM");
    for (const deadline = Date.now() + 10_000; notReloaded() < 2; await sleep(50)) {
      assert.ok(Date.now() < deadline, `the reload under way did not give up:\n${relay.output().slice(-3_000)}`);
    }
    assert.match(relay.output(), /"msg":"shutting down"/);
    process.kill(redisPid, "SIGCONT");
    assert.equal(await relay.stop("SIGTERM"), 0, relay.output().slice(-3_000));
  });
});
