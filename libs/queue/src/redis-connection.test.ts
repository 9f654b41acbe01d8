import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { lookup } from "node:dns";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { TestContext } from "node:test";
import type { Redis } from "ioredis";
import { parseSettings, PRODUCER_COMMAND_TIMEOUT_MS, SettingsError } from "@pyroscope-relay/config";
import { startNetworkFaultProxy, startRedisCluster, startRedisServer, type RedisServerHandle } from "@pyroscope-relay/testing";
import { InvalidRedisUrlError, QueueUnavailableError, RedisClusterNodeError, RedisWaitStoppedError } from "./errors.js";
import {
  ADMIN_COMMAND_TIMEOUT_MS,
  createRedisConnection,
  isCluster,
  parseClusterNodes,
  redactRedisUrl,
  redisEndpointOf,
  SILENCE_LIMIT_MS,
  waitForRedis,
  type RedisRole,
} from "./redis-connection.js";

const server = await startRedisServer();
after(() => server.stop());

/** A connection closed after the test; errors are expected while servers go down. */
function connection(t: { after(fn: () => void): void }, url: string, role: RedisRole, name?: string): Redis {
  const redis = createRedisConnection(url, role, name);
  redis.on("error", () => undefined);
  t.after(() => redis.disconnect());
  return redis;
}

test("redactRedisUrl hides passwords and lone userinfo", () => {
  assert.equal(redactRedisUrl("redis://user:s3cret@host:6379/0"), "redis://user:***@host:6379/0");
  assert.equal(redactRedisUrl("rediss://:p@ss:w@host"), "rediss://:***@host");
  assert.equal(redactRedisUrl("redis://token@host"), "redis://***@host");
  assert.equal(redactRedisUrl("redis://host:6379"), "redis://host:6379");
  assert.equal(redactRedisUrl("/tmp/redis.sock"), "/tmp/redis.sock");
  // ioredis takes a password in the query too; a URL missing its "://" may still hold userinfo.
  assert.equal(redactRedisUrl("redis://host:6379?password=s3cret&db=2"), "redis://host:6379?password=***&db=2");
  assert.equal(redactRedisUrl("redis//:s3cret@host"), "***@host");
  assert.equal(redactRedisUrl("unix:///tmp/redis.sock?db=1"), "unix:///tmp/redis.sock?db=1");
  // A password holding "?" or "@".
  assert.equal(redactRedisUrl("redis://user:pa?ss@host:6379"), "redis://user:***@host:6379");
  assert.equal(redactRedisUrl("redis://user:p@ss?x@host"), "redis://user:***@host");
  assert.equal(redactRedisUrl("redis://u:p@host?password=a@b"), "redis://u:***@b");
});

test("connects over unix:// URLs and bare socket paths", async (t) => {
  for (const url of [server.url, server.socketPath, `${server.url}?db=2`]) {
    const redis = connection(t, url, "admin", "relay-test");
    await waitForRedis(redis, 2_000);
    assert.equal(await redis.ping(), "PONG");
    assert.equal(await redis.client("GETNAME"), "relay-test");
  }
});

test("a unix:// URL with a relative path names a socket under the working directory (run's default --storage.path data)", async (t) => {
  // The socket, reached through a directory under the working directory.
  const dir = await mkdtemp("redis-url-");
  t.after(() => rm(dir, { recursive: true, force: true }));
  await symlink(server.socketPath, `${dir}/redis.sock`);
  const redis = connection(t, `unix://${dir}/redis.sock`, "admin", "relay-test");
  assert.equal(redis.options.path, resolvePath(dir, "redis.sock"));
  await waitForRedis(redis, 2_000);
  assert.equal(await redis.ping(), "PONG");
  assert.equal(connection(t, "unix://data/redis.sock", "admin").options.path, resolvePath("data/redis.sock"));
});

test("maps redis:// and rediss:// URLs to ioredis options", (t) => {
  const plain = connection(t, "redis://alice:p%40ss@127.0.0.1:1/3", "worker");
  assert.equal(plain.options.host, "127.0.0.1");
  assert.equal(plain.options.port, 1);
  assert.equal(plain.options.username, "alice");
  assert.equal(plain.options.password, "p@ss");
  assert.equal(plain.options.db, 3);
  assert.equal(plain.options.tls, undefined);
  assert.equal(plain.options.maxRetriesPerRequest, null);
  assert.equal(plain.options.keyPrefix, "");
  assert.equal(plain.options.enableAutoPipelining, false);

  const tls = connection(t, "rediss://[::1]", "producer");
  assert.equal(tls.options.host, "::1");
  assert.equal(tls.options.port, 6379);
  assert.deepEqual(tls.options.tls, {});
  assert.equal(tls.options.enableOfflineQueue, false);
});

test("rejects unusable URLs without showing the password", () => {
  for (const url of [
    "http://user:secret@host",
    "unix://host:6379/redis.sock",
    "redis://user:secret@host/zero",
    "redis://user:secret@host?keyPrefix=x",
    "redis://user:secret@",
    "not a url",
    "redis://user:secret%zz@host",
    "unix:///tmp/100%/redis.sock",
  ]) {
    assert.throws(
      () => createRedisConnection(url, "admin"),
      (error: unknown) => {
        assert.ok(error instanceof InvalidRedisUrlError, url);
        assert.doesNotMatch(error.message, /secret/);
        return true;
      },
    );
  }
});

test("a malformed %-escape and escapes that are not UTF-8 are refused, each saying which", (t) => {
  const reasons: Array<[string, string]> = [
    ["redis://user:s3cret%zz@host", "its password holds a malformed %-escape (write % as %25)"],
    ["redis://us%er:s3cret@host", "its username holds a malformed %-escape (write % as %25)"],
    ["redis://user:s3cret%FF@host", "its password is not UTF-8 once %-decoded"],
    ["redis://user:s3cret%C3@host", "its password is not UTF-8 once %-decoded"],
    ["unix:///tmp/%FF/redis.sock", "its path is not UTF-8 once %-decoded"],
  ];
  for (const [url, reason] of reasons) {
    assert.throws(
      () => createRedisConnection(url, "admin"),
      (error: unknown) => error instanceof InvalidRedisUrlError && error.message.endsWith(`": ${reason}`),
      url,
    );
  }
  assert.equal(connection(t, "redis://user:s3cr%C3%A9t@127.0.0.1:1", "admin").options.password, "s3crét");
});

test("a producer fails within seconds while Redis is down and reconnects by itself", async (t) => {
  const own = await startRedisServer();
  const redis = connection(t, own.url, "producer");
  t.after(() => own.stop());
  await waitForRedis(redis, 10_000);
  await own.kill();
  const started = Date.now();
  await assert.rejects(redis.set("profile", "x"));
  const elapsed = Date.now() - started;
  t.diagnostic(`producer failed after ${elapsed} ms`);
  assert.ok(elapsed < 4_000, `took ${elapsed} ms`);
  await own.restart();
  await waitForRedis(redis, 15_000);
  assert.equal(await redis.set("profile", "x"), "OK");
});

/** How long `command` of a `role` connection took to be refused as timed out while its Redis is stopped (SIGSTOP). */
async function timedOutWhileStopped(t: TestContext, role: RedisRole, command: (redis: Redis) => Promise<unknown>): Promise<{ redis: Redis; elapsed: number }> {
  const own = await startRedisServer();
  const redis = connection(t, own.url, role);
  t.after(() => own.stop());
  await waitForRedis(redis, 10_000);
  const pid = Number(/process_id:(\d+)/.exec(await redis.info("server"))?.[1]);
  process.kill(pid, "SIGSTOP");
  const started = Date.now();
  try {
    await assert.rejects(command(redis), /timed out/);
  } finally {
    process.kill(pid, "SIGCONT");
  }
  return { redis, elapsed: Date.now() - started };
}

test("a producer times out after its command timeout when Redis hangs, well before an admin's", async (t) => {
  const { elapsed } = await timedOutWhileStopped(t, "producer", (redis) => redis.set("profile", "x"));
  t.diagnostic(`producer timed out after ${elapsed} ms`);
  assert.ok(elapsed < PRODUCER_COMMAND_TIMEOUT_MS + 2_500, `took ${elapsed} ms`);
});

test("an admin command gives up after ADMIN_COMMAND_TIMEOUT_MS when Redis hangs", { timeout: 30_000 }, async (t) => {
  const { redis, elapsed } = await timedOutWhileStopped(t, "admin", (admin) => admin.hgetall("failed"));
  assert.ok(elapsed < ADMIN_COMMAND_TIMEOUT_MS + 2_000, `took ${elapsed} ms`);
  assert.equal(await redis.ping(), "PONG", "and serves again once Redis does");
});

test("waitForRedis waits through refused connections for a Redis that starts later", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "relay-wait-"));
  let later: RedisServerHandle | undefined;
  t.after(async () => {
    await later?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const redis = connection(t, `unix://${join(dir, "redis.sock")}`, "producer");
  const waiting = waitForRedis(redis, 10_000);
  // The client has failed to connect at least once before the server exists.
  await once(redis, "error");
  later = await startRedisServer({ dir });
  await waiting;
  assert.equal(await redis.ping(), "PONG");
});

test("waitForRedis gives up with QueueUnavailableError naming the endpoint, its password hidden, and the last connection error", async (t) => {
  const own = await startRedisServer();
  await own.stop();
  const redis = connection(t, own.url, "producer");
  await assert.rejects(waitForRedis(redis, 200), (error: Error) => {
    assert.ok(error instanceof QueueUnavailableError);
    assert.match(
      error.message,
      new RegExp(`^Redis at ${own.url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} not ready within 200 ms \\(status \\w+\\): connect ENOENT `),
    );
    assert.match(String((error.cause as Error).message), /ENOENT/);
    return true;
  });
  const secret = connection(t, "redis://relay:s3cret@127.0.0.1:1", "producer");
  await assert.rejects(waitForRedis(secret, 200), (error: Error) => {
    assert.match(error.message, /^Redis at redis:\/\/relay:\*\*\*@127\.0\.0\.1:1 not ready/);
    assert.doesNotMatch(error.message, /s3cret/);
    return true;
  });
});

test("waitForRedis stops waiting when its signal aborts, long before its deadline", async (t) => {
  const own = await startRedisServer();
  await own.stop();
  const redis = connection(t, own.url, "producer");
  const stop = new AbortController();
  const started = Date.now();
  setTimeout(() => stop.abort(), 100);
  await assert.rejects(waitForRedis(redis, 30_000, stop.signal), RedisWaitStoppedError);
  assert.ok(Date.now() - started < 5_000, `stopped after ${Date.now() - started} ms`);
  await assert.rejects(waitForRedis(redis, 30_000, stop.signal), RedisWaitStoppedError, "already stopped: no wait at all");
});

test("waitForRedis on a cluster that no node answers names its last node's error", async (t) => {
  const cluster = createRedisConnection({ clusterNodes: "redis://127.0.0.1:1" }, "producer");
  cluster.on("error", () => undefined);
  t.after(() => cluster.disconnect());
  await assert.rejects(waitForRedis(cluster, 1_500), (error: Error) => {
    assert.match(error.message, /^Redis at cluster redis:\/\/127\.0\.0\.1:1 not ready within 1500 ms \(status \w+\): Failed to refresh slots cache\. \(.+\)$/);
    return true;
  });
});

test("maps --redis.cluster-nodes to a Cluster client whose nodes share the URLs' credentials and TLS", (t) => {
  const cluster = createRedisConnection({ clusterNodes: "rediss://alice:s3cret@10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002" }, "worker", "relay-test");
  cluster.on("error", () => undefined);
  t.after(() => cluster.disconnect());
  assert.ok(isCluster(cluster));
  assert.deepEqual(parseClusterNodes("rediss://alice:s3cret@10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002").nodes, [
    { host: "10.0.0.1", port: 7000 },
    { host: "10.0.0.2", port: 7001 },
    { host: "::1", port: 7002 },
  ]);
  const { redisOptions } = cluster.options;
  assert.equal(redisOptions?.username, "alice");
  assert.equal(redisOptions?.password, "s3cret");
  assert.deepEqual(redisOptions?.tls, {});
  assert.equal(redisOptions?.maxRetriesPerRequest, null, "BullMQ workers need it on every node");
  assert.equal(redisOptions?.connectionName, "relay-test");
  assert.equal(cluster.options.enableAutoPipelining, false);

  const producer = createRedisConnection({ clusterNodes: "127.0.0.1:1" }, "producer");
  producer.on("error", () => undefined);
  t.after(() => producer.disconnect());
  assert.ok(isCluster(producer));
  assert.equal(producer.options.enableOfflineQueue, false, "a producer fails fast on a cluster too");
  assert.equal(producer.options.redisOptions?.commandTimeout, 1_500);
});

test("rejects unusable cluster nodes without showing a password", () => {
  for (const [nodes, reason] of [
    ["", /no node given/],
    ["redis://:s3cret@a:7000,redis://:other@b:7000", /nodes given as URLs must share credentials and TLS/],
    ["redis://:s3cret@a:7000/2", /a cluster has database 0 only/],
    ["unix:///tmp/redis.sock", /"unix:\/\/\/tmp\/redis.sock" is not HOST:PORT/],
  ] as const) {
    assert.throws(
      () => createRedisConnection({ clusterNodes: nodes }, "admin"),
      (error: unknown) => {
        assert.ok(error instanceof InvalidRedisUrlError, nodes);
        assert.match(error.message, reason);
        assert.doesNotMatch(error.message, /s3cret|other/);
        return true;
      },
    );
  }
});

test("the settings' URL or cluster nodes that cannot be used: a SettingsError naming the flag, the password hidden", () => {
  for (const [args, env, message] of [
    [
      ["--redis.url=redis://user:s3cret@h:6379/x"],
      {},
      /^--redis\.url \(or REDIS_URL\): invalid Redis URL "redis:\/\/user:\*\*\*@h:6379\/x": database "x" is not a number$/,
    ],
    [[], { REDIS_URL: "redis://:s3cret@h:6379?timeout=1" }, /^--redis\.url \(or REDIS_URL\): invalid Redis URL .*unsupported parameter "timeout"/],
    [["--redis.url=redis://:s3cret%zz@h"], {}, /^--redis\.url \(or REDIS_URL\): invalid Redis URL "redis:\/\/:\*\*\*@h": /],
    [["--redis.cluster-nodes=redis://:s3cret@a:7000/2"], {}, /^--redis\.cluster-nodes \(or RELAY_REDIS_CLUSTER_NODES\): .*a cluster has database 0 only$/],
  ] as const) {
    const { settings } = parseSettings([...args], env);
    assert.throws(
      () => redisEndpointOf(settings, undefined),
      (error: unknown) => {
        assert.ok(error instanceof SettingsError, String(error));
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /s3cret/);
        return true;
      },
    );
  }
});

test("maps the settings to an endpoint whose TLS adds to a rediss:// URL's, a plain one left as it is", (t) => {
  const tls = { ca: "CA PEM", cert: "CERT PEM", key: "KEY PEM", serverName: "redis.internal" };
  const settings = parseSettings(["--redis.url=REDISS://redis.invalid:6380", "--redis.tls-server-name=redis.internal"], {}).settings;
  assert.deepEqual(redisEndpointOf(settings, tls), { url: "REDISS://redis.invalid:6380", tls });
  assert.deepEqual(redisEndpointOf(parseSettings(["--redis.cluster-nodes=a:7000"], {}).settings, undefined), { clusterNodes: "a:7000" });
  assert.equal(redisEndpointOf(parseSettings([], {}).settings, undefined), undefined);

  const single = createRedisConnection({ url: "rediss://redis.invalid:6380", tls }, "admin");
  single.on("error", () => undefined);
  t.after(() => single.disconnect());
  assert.ok(!isCluster(single));
  assert.deepEqual(single.options.tls, { ca: "CA PEM", cert: "CERT PEM", key: "KEY PEM", servername: "redis.internal" });

  const cluster = createRedisConnection({ clusterNodes: "rediss://redis-1.invalid:7000", tls: { ca: "CA PEM" } }, "admin");
  cluster.on("error", () => undefined);
  t.after(() => cluster.disconnect());
  assert.ok(isCluster(cluster));
  assert.deepEqual(cluster.options.redisOptions?.tls, { ca: "CA PEM" });
  // Over TLS a seed is dialed by its name, the one its certificate holds.
  let dialed: string | undefined;
  cluster.options.dnsLookup?.("redis-1.invalid", (error, address) => {
    assert.equal(error, null);
    dialed = address;
  });
  assert.equal(dialed, "redis-1.invalid");

  const plain = createRedisConnection({ clusterNodes: "127.0.0.1:1", tls: { ca: "CA PEM" } }, "admin");
  plain.on("error", () => undefined);
  t.after(() => plain.disconnect());
  assert.ok(isCluster(plain));
  assert.equal(plain.options.redisOptions?.tls, undefined);
  assert.equal(plain.options.dnsLookup, lookup);
});

test("waitForRedis refuses a node of a Redis Cluster reached as one Redis, naming --redis.cluster-nodes; the cluster's client passes", async (t) => {
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
  t.after(() => cluster.stop());
  const node = createRedisConnection(`redis://${cluster.nodes[0]!.address}`, "admin");
  node.on("error", () => undefined);
  t.after(() => node.disconnect());
  await assert.rejects(waitForRedis(node, 5_000), (error: Error) => {
    assert.ok(error instanceof RedisClusterNodeError, String(error));
    assert.equal(
      error.message,
      `the Redis at redis://${cluster.nodes[0]!.address} is a node of a Redis Cluster (cluster_enabled:1): give the cluster's nodes with --redis.cluster-nodes (or RELAY_REDIS_CLUSTER_NODES) instead of --redis.url`,
    );
    return true;
  });

  const client = createRedisConnection({ clusterNodes: cluster.seeds }, "admin");
  client.on("error", () => undefined);
  t.after(() => client.disconnect());
  await waitForRedis(client, 5_000);
});

test("a connection of each role that the network black-holes makes a new one within its silence limit", { timeout: 60_000 }, async (t) => {
  const proxy = await startNetworkFaultProxy({ path: server.socketPath }, { path: join(server.dir, `black-hole-${process.pid}.sock`) });
  t.after(() => proxy.close());
  const roles = ["producer", "worker", "admin"] as const;
  const redis = roles.map((role) => connection(t, `unix://${proxy.address.path}`, role));
  await Promise.all(redis.map((client) => waitForRedis(client, 5_000)));
  proxy.blackHoleOpenConnections();
  const started = Date.now();
  const recovered = await Promise.all(
    roles.map(async (role, i) => {
      // A command into the black hole: the producer's and the admin's time out, the worker's waits.
      for (;;) {
        const answer = await redis[i]!.ping().catch((error: Error) => error.message);
        if (answer === "PONG") return Date.now() - started;
        if (Date.now() - started > SILENCE_LIMIT_MS[role] + 10_000) return Number.POSITIVE_INFINITY;
        // A producer without a connection fails at once: timers (its reconnection) must get to run.
        await sleep(50);
      }
    }),
  );
  t.diagnostic(`answered again after ${recovered.join(", ")} ms (${roles.join(", ")})`);
  for (const [i, role] of roles.entries()) {
    assert.ok(recovered[i]! >= SILENCE_LIMIT_MS[role] - 1_000, `${role}: not taken for dead before its limit (${recovered[i]} ms)`);
    assert.ok(recovered[i]! < SILENCE_LIMIT_MS[role] + 5_000, `${role}: a new connection within its limit (${recovered[i]} ms)`);
  }
  assert.equal(proxy.passing, roles.length, "each on a new connection");
});

test("a connection closed while a blocking command waits does not hold the process", async () => {
  const script = [
    `import { createRedisConnection } from "./src/redis-connection.ts";`,
    `const worker = createRedisConnection(${JSON.stringify(server.url)}, "worker");`,
    `const blocking = worker.duplicate();`,
    `await blocking.ping();`,
    `blocking.blpop("nothing-${process.pid}", 5).catch(() => undefined);`,
    `await new Promise((resolve) => setTimeout(resolve, 200));`,
    `blocking.disconnect();`,
    `worker.disconnect();`,
    `process.stdout.write(String(Date.now()));`,
  ].join("\n");
  const child = spawn(process.execPath, ["--conditions=@pyroscope-relay/source", "--import", "tsx", "--input-type=module", "-e", script], {
    cwd: resolvePath(import.meta.dirname, ".."),
    stdio: ["ignore", "pipe", "inherit"],
  });
  let closedAt = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    closedAt += chunk.toString();
  });
  const [code] = (await once(child, "exit")) as [number | null];
  const lingered = Date.now() - Number(closedAt);
  assert.equal(code, 0);
  assert.ok(
    lingered < SILENCE_LIMIT_MS.worker / 2,
    `exited ${lingered} ms after it closed its connections (the silence limit is ${SILENCE_LIMIT_MS.worker} ms)`,
  );
});
