import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { startRedisCluster, type RedisClusterNode } from "./redis-cluster.js";

const run = promisify(execFile);

/** redis-cli in cluster mode, which follows MOVED redirects; `input` sends one command per line. */
async function cli(node: RedisClusterNode, args: string[], input?: string): Promise<string> {
  const pending = run("redis-cli", ["-c", "-h", "127.0.0.1", "-p", String(node.port), ...args]);
  pending.child.stdin?.end(input);
  const { stdout } = await pending;
  return stdout.trim();
}

/** Replies to piped commands, without redis-cli's notes about redirects. */
async function replies(node: RedisClusterNode, commands: string[]): Promise<string[]> {
  const output = await cli(node, [], commands.map((command) => `${command}\n`).join(""));
  return output.split("\n").filter((line) => !line.startsWith("-> Redirected"));
}

async function config(node: RedisClusterNode, name: string): Promise<string | undefined> {
  return (await cli(node, ["CONFIG", "GET", name])).split("\n")[1];
}

function field(info: string, name: string): string | undefined {
  return info
    .split(/\r?\n/)
    .find((line) => line.startsWith(`${name}:`))
    ?.slice(name.length + 1);
}

function addresses(nodes: RedisClusterNode[]): string[] {
  return nodes.map((node) => node.address).sort();
}

test("a 3+3 cluster fails over a killed master, keeps its data and takes the master back as a replica", async (t) => {
  const cluster = await startRedisCluster();
  t.after(() => cluster.stop());
  assert.equal(cluster.nodes.length, 6);
  assert.equal(cluster.seeds, cluster.nodes.map((node) => node.address).join(","));
  const masters = await cluster.masters();
  assert.equal(masters.length, 3);
  for (const node of cluster.nodes) {
    const info = await cli(node, ["CLUSTER", "INFO"]);
    assert.equal(field(info, "cluster_state"), "ok");
    assert.equal(field(info, "cluster_slots_ok"), "16384");
  }

  const victim = masters[0]!;
  const keys = Array.from({ length: 12 }, (_, index) => `profile-${index}`);
  // WAIT goes to the master redis-cli was just redirected to, so each write is on a replica before the kill.
  const written = await replies(
    victim,
    keys.flatMap((key) => [`SET ${key} value-${key}`, "WAIT 1 1000"]),
  );
  assert.deepEqual(
    written,
    keys.flatMap(() => ["OK", "1"]),
  );
  const victimKeys = Number(await cli(victim, ["DBSIZE"]));
  assert.ok(victimKeys > 0 && victimKeys < keys.length, `the keys spread over the masters (victim has ${victimKeys})`);
  const replicaPort = /^slave0:ip=[^,]+,port=(\d+)/m.exec(await cli(victim, ["INFO", "replication"]))?.[1];
  const replica = cluster.nodes.find((node) => String(node.port) === replicaPort);
  assert.ok(replica, `the victim's replica is a node of the cluster (port ${replicaPort})`);

  await victim.kill();
  const killedAt = Date.now();
  await cluster.waitHealthy();
  t.diagnostic(`failover took ${Date.now() - killedAt} ms`);
  const mastersAfterFailover = addresses([...masters.slice(1), replica]);
  assert.deepEqual(addresses(await cluster.masters()), mastersAfterFailover);
  assert.deepEqual(
    await replies(
      replica,
      keys.map((key) => `GET ${key}`),
    ),
    keys.map((key) => `value-${key}`),
  );

  await victim.restart();
  const restartedAt = Date.now();
  await cluster.waitHealthy();
  t.diagnostic(`rejoin took ${Date.now() - restartedAt} ms`);
  const victimReplication = await cli(victim, ["INFO", "replication"]);
  assert.equal(field(victimReplication, "role"), "slave");
  assert.equal(field(victimReplication, "master_port"), String(replica.port));
  assert.deepEqual(addresses(await cluster.masters()), mastersAfterFailover);

  const pids = await Promise.all(cluster.nodes.map(async (node) => Number(field(await cli(node, ["INFO", "server"]), "process_id"))));
  const dirs = await Promise.all(cluster.nodes.map((node) => config(node, "dir")));
  await cluster.stop();
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: "ESRCH" });
  for (const dir of dirs) {
    assert.ok(dir);
    assert.match(dir, /relay-redis-cluster-.*node-/);
    assert.equal(existsSync(dir), false, dir);
    assert.equal(existsSync(dirname(dir)), false, dirname(dir));
  }
});

test("nodes take the options; a killed master without replica is unhealthy until it restarts with its AOF", async (t) => {
  const cluster = await startRedisCluster({
    replicasPerMaster: 0,
    nodeTimeoutMs: 2_000,
    appendonly: true,
    appendfsync: "always",
    maxmemory: "32mb",
  });
  t.after(() => cluster.stop());
  assert.equal(cluster.nodes.length, 3);
  assert.deepEqual(addresses(await cluster.masters()), addresses(cluster.nodes));
  const node = cluster.nodes[0]!;
  assert.equal(await config(node, "cluster-node-timeout"), "2000");
  assert.equal(await config(node, "appendonly"), "yes");
  assert.equal(await config(node, "appendfsync"), "always");
  assert.equal(await config(node, "maxmemory"), String(32 * 1024 * 1024));
  assert.equal(await config(node, "maxmemory-policy"), "noeviction");

  const keys = Array.from({ length: 12 }, (_, index) => `profile-${index}`);
  assert.deepEqual(
    await replies(
      node,
      keys.map((key) => `SET ${key} kept`),
    ),
    keys.map(() => "OK"),
  );
  const nodeKeys = (await cli(node, ["KEYS", "*"])).split("\n").sort();
  assert.ok(nodeKeys.length > 0 && nodeKeys.length < keys.length, `the keys spread over the masters (${nodeKeys.length})`);
  await node.kill();
  await assert.rejects(cluster.waitHealthy(300), /not healthy within 300 ms/);
  await node.restart();
  await cluster.waitHealthy();
  assert.deepEqual((await cli(node, ["KEYS", "*"])).split("\n").sort(), nodeKeys);
});

test("a cluster needs at least 3 masters", async () => {
  await assert.rejects(startRedisCluster({ masters: 2 }), RangeError);
});
