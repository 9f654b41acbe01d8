import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { PusherService } from "@pyroscope-relay/proto";
import { gzippedPprof, pollUntil, startRedisCluster } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisClusterHandle } from "@pyroscope-relay/testing";
import { startRelayProcess } from "./support/relay-process.js";
import { startTwoTargets } from "./support/two-targets.js";
import type { RelayProcess } from "./support/relay-process.js";
import { runCommand } from "./support/run-command.js";

const SHARDS = 4;
const REJECT = { status: 400, body: '{"code":"invalid_argument","message":"bad profile"}' };

describe("pyroscope-relay on a Redis Cluster (3 masters, 3 replicas): separate ingest and writer, 4 queue shards", () => {
  let cluster: RedisClusterHandle;
  let a: FakeTarget;
  let b: FakeTarget;
  let ingest: RelayProcess;
  let writer: RelayProcess | undefined;
  let config: string;
  let configPath: string;
  let baseUrl: string;
  let closeTargets: (() => Promise<void>) | undefined;
  const clusterArgs = () => [`--redis.cluster-nodes=${cluster.seeds}`, `--target.queue-shards=${SHARDS}`];
  const startWriter = (...args: string[]) => startRelayProcess({ command: "writer", config, args: [...clusterArgs(), "--log.level=info", ...args] });
  const command = (name: string, ...args: string[]) => runCommand([name, configPath, ...clusterArgs(), ...args]);
  // A flush whose replica confirms it late (a slow fsync on a busy machine) is refused with 503 and
  // Retry-After, and withdrawn: the request is sent again, as a client does. That is rare: at most
  // `maxResent` refusals over the suite. Anything else fails.
  const maxResent = 3;
  let resent = 0;
  const send = async (seed: number, name = "app") => {
    for (;;) {
      const res = await fetch(`${baseUrl}/ingest?name=${name}&format=pprof`, { method: "POST", body: gzippedPprof({ seed }) });
      const text = await res.text();
      if (res.status === 503 && res.headers.has("retry-after") && resent < maxResent) {
        resent++;
        await sleep(200);
        continue;
      }
      assert.equal(res.status, 200, `${text} (${resent} refusals sent again before)`);
      return;
    }
  };
  const failed = async () => JSON.parse((await command("failed", "--json")).stdout) as { targets: { target: string; batches: number; profiles: number }[] };
  /** Resolves once `failed` counts `profiles` failed profiles at b. */
  const failedAtB = (profiles: number, what: string) =>
    pollUntil(what, async () => (await failed()).targets.find((t) => t.target === "b")?.profiles === profiles, { timeoutMs: 20_000, everyMs: 100 });

  before(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, appendonly: true });
    ({ a, b, baseUrl, config, configPath, close: closeTargets } = await startTwoTargets("relay-cluster-"));
    ingest = await startRelayProcess({
      command: "ingest",
      config,
      args: [...clusterArgs(), "--redis.min-replicas=1", "--redis.replica-timeout=1s", "--log.level=info"],
    });
  });

  after(async () => {
    await writer?.stop();
    await ingest?.stop();
    await closeTargets?.();
    await cluster?.stop();
  });

  it("both APIs reach both targets through batches spread over the masters", async () => {
    for (let i = 0; i < 30; i++) await send(i);
    const client = createClient(PusherService, createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }));
    await client.push({
      series: [
        {
          labels: [
            { name: "__name__", value: "process_cpu" },
            { name: "service_name", value: "checkout" },
          ],
          samples: [{ rawProfile: gzippedPprof({ seed: 99 }), ID: "" }],
        },
      ],
    });
    // Queued while no writer runs, then delivered by one that consumes every shard.
    assert.equal(a.requests.length, 0);
    writer = await startWriter();
    await a.waitForRequests(31, 20_000);
    await b.waitForRequests(31, 20_000);
    for (const target of [a, b]) {
      assert.equal(target.requests.filter((r) => r.path === "/ingest").length, 30);
      assert.equal(target.requests.filter((r) => r.path === "/push.v1.PusherService/Push").length, 1);
    }
    const metrics = await (await fetch(`${ingest.opsUrl}/metrics`)).text();
    assert.match(metrics, /pyroscope_relay_queue_jobs\{target="a",state="waiting"\} 0/, "one figure per target over its shards");
  });

  it("failed, replay and purge work across the shards on the cluster; retention at a writer's start", async () => {
    b.respond((request) => (request.query.includes("name=poison") ? REJECT : undefined));
    for (let i = 0; i < 3; i++) await send(100 + i, "poison");
    await failedAtB(3, "3 failed profiles at b");
    const summary = await failed();
    assert.equal(summary.targets.find((t) => t.target === "a")?.batches, 0);

    b.respond(undefined);
    const before = b.requests.length;
    const replay = await command("replay", "--target=b", "--limit=2");
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stdout, /replayed 2 batches \(2 profiles\)/);
    await b.waitForRequests(before + 2, 20_000);
    await failedAtB(1, "1 failed profile left");

    b.respond((request) => (request.query.includes("name=poison") ? REJECT : undefined));
    await send(200, "poison");
    await send(201, "poison");
    await failedAtB(3, "3 failed again");
    const purge = await command("purge", "--target=b");
    assert.equal(purge.code, 0, purge.stderr);
    await failedAtB(0, "purged");

    await send(300, "poison");
    await failedAtB(1, "one more failure");
    await sleep(20);
    // A writer sweeps at start: with a maximum age of 1 ms, the failed batch goes.
    await writer!.stop();
    writer = await startWriter("--queue.failed-max-age=1ms");
    await failedAtB(0, "retention removed it");
  });
});
