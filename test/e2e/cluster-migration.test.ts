// A deployment that outgrew one Redis moves to a Redis Cluster with what it holds: the keys keep
// their names on a cluster (every key that a script or a transaction touches together shares a hash
// tag), so Redis' own `redis-cli --cluster import` copies a stopped relay's Redis into the cluster,
// and the relay goes on there: the backlog is delivered, the failed batches replayed.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { gzippedPprof, pollUntil, startRedisCluster, startRedisServer } from "@pyroscope-relay/testing";
import type { FakeTarget, RecordedRequest, RedisClusterHandle, RedisServerHandle } from "@pyroscope-relay/testing";
import { startRelayProcess } from "./support/relay-process.js";
import { startTwoTargets } from "./support/two-targets.js";
import { runCommand } from "./support/run-command.js";

const run = promisify(execFile);
const REJECT = { status: 400, body: '{"code":"invalid_argument","message":"bad profile"}' };
const BACKLOG = 20;

/** The application names of the `/ingest` profiles `target` received, in order (without the labels the relay adds). */
function namesAt(target: FakeTarget): string[] {
  return target.requests.filter((r) => r.path === "/ingest").map((r: RecordedRequest) => (new URLSearchParams(r.query).get("name") ?? "").split("{")[0]!);
}

describe("moving from one Redis to a Redis Cluster: redis-cli --cluster import, then the relay on the cluster", () => {
  let single: RedisServerHandle;
  let cluster: RedisClusterHandle;
  let a: FakeTarget;
  let b: FakeTarget;
  let config: string;
  let configPath: string;
  let baseUrl: string;
  let closeTargets: (() => Promise<void>) | undefined;
  const stops: (() => Promise<unknown>)[] = [];

  before(async () => {
    single = await startRedisServer({ tcp: true, appendonly: true });
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
    ({ a, b, baseUrl, config, configPath, close: closeTargets } = await startTwoTargets("relay-migration-"));
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop();
    await closeTargets?.();
    await cluster?.stop();
    await single?.stop();
  });

  it("the backlog and the failed batches of the one Redis are delivered and replayed from the cluster, each profile once", { timeout: 180_000 }, async () => {
    const onSingle = [`--redis.url=redis://127.0.0.1:${single.port}`];
    const onCluster = [`--redis.cluster-nodes=${cluster.seeds}`];
    const send = async (name: string, seed: number) => {
      const res = await fetch(`${baseUrl}/ingest?name=${name}&format=pprof`, { method: "POST", body: gzippedPprof({ seed }) });
      assert.equal(res.status, 200, await res.text());
    };

    // On one Redis: b refuses the poison profile for good (a failed batch), then the writer stops
    // and a backlog waits for both targets.
    b.respond((request) => (request.query.includes("name=poison") ? REJECT : undefined));
    const ingest = await startRelayProcess({ command: "ingest", config, args: onSingle });
    stops.push(() => ingest.stop());
    const writer = await startRelayProcess({ command: "writer", config, args: onSingle });
    stops.push(() => writer.stop());
    await send("poison", 1);
    const failedOnSingle = await pollUntil(
      "the poison profile delivered to a and failed at b",
      async () => {
        const listed = JSON.parse((await runCommand(["failed", configPath, ...onSingle, "--json"])).stdout) as {
          targets: { target: string; profiles: number }[];
        };
        return listed.targets.find((t) => t.target === "b")?.profiles === 1 && namesAt(a).length === 1 && listed;
      },
      { timeoutMs: 20_000, everyMs: 100 },
    );
    assert.ok(failedOnSingle);
    assert.deepEqual(namesAt(a), ["poison"], "a took it");
    assert.equal(await writer.stop(), 0);
    for (let i = 0; i < BACKLOG; i++) await send(`waiting-${i}`, 10 + i);
    assert.equal(await ingest.stop(), 0);

    // Redis' own tool copies every key into the slot its name hashes to.
    const imported = await run(
      "redis-cli",
      ["--cluster", "import", cluster.nodes[0]!.address, "--cluster-from", `127.0.0.1:${single.port}`, "--cluster-copy"],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    assert.match(imported.stdout, /Migrating/, imported.stdout.slice(-2_000));
    const keysOnCluster = (await Promise.all(cluster.nodes.map((node) => node.keyCount()))).reduce((sum, n) => sum + n, 0);
    assert.ok(keysOnCluster > BACKLOG, `${keysOnCluster} keys on the cluster`);

    // On the cluster: the failed batch is listed, the backlog delivered, the poison profile replayed.
    const listed = await runCommand(["failed", configPath, ...onCluster]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /http 400/, "the failed batch came along");
    const clusterWriter = await startRelayProcess({ command: "writer", config, args: onCluster });
    stops.push(() => clusterWriter.stop());
    const backlog = Array.from({ length: BACKLOG }, (_, i) => `waiting-${i}`);
    await pollUntil("the backlog delivered to both targets", () => namesAt(a).length >= 1 + BACKLOG && namesAt(b).length >= 1 + BACKLOG, {
      timeoutMs: 30_000,
      everyMs: 100,
    });
    assert.deepEqual(namesAt(a).slice(1).sort(), [...backlog].sort(), "a: each waiting profile once");
    assert.deepEqual(namesAt(b).slice(1).sort(), [...backlog].sort(), "b: each waiting profile once");
    b.respond(undefined);
    const replay = await runCommand(["replay", configPath, ...onCluster, "--target=b"]);
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stdout, /replayed 1 batch(es)? \(1 profiles?\)/);
    await pollUntil("the poison profile replayed to b", () => namesAt(b).filter((name) => name === "poison").length === 2, { timeoutMs: 20_000, everyMs: 100 });
    assert.deepEqual(
      namesAt(a).filter((name) => name === "poison"),
      ["poison"],
      "a is not sent it again",
    );
    assert.equal(namesAt(a).length, 1 + BACKLOG, "nothing more to a");
    assert.equal(namesAt(b).length, 2 + BACKLOG, "nothing more to b than the replayed profile");
  });
});
