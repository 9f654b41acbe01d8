import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { freePort, pollUntil, startRedisServer, type RedisServerHandle } from "@pyroscope-relay/testing";
import { createRedisConnection, type RedisConnection } from "@pyroscope-relay/queue";

/** The command from its sources, as the specs import the libraries. */
const appDir = fileURLToPath(new URL("..", import.meta.url));
const relayArgs = ["--conditions=@pyroscope-relay/source", "--import", "tsx", "src/main.ts"];

const config = `pyroscope.receive_http "in" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = 0
  }
  forward_to = [pyroscope.write.a.receiver]
}
pyroscope.write "a" {
  endpoint {
    url = "http://127.0.0.1:9"
  }
}
`;

interface Started {
  ops: string;
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

describe("--target.queue-shards is the deployment's: recorded in Redis, checked at every start, watched by running writers", () => {
  let redis: RedisServerHandle;
  let admin: RedisConnection;
  let dir: string;
  let configPath: string;
  const started: Started[] = [];

  before(async () => {
    redis = await startRedisServer();
    admin = createRedisConnection(redis.url, "admin");
    dir = await mkdtemp(join(tmpdir(), "relay-shards-"));
    configPath = join(dir, "relay.alloy");
    await writeFile(configPath, config);
  });
  after(async () => {
    await Promise.all(started.map((command) => command.stop()));
    admin?.disconnect();
    await redis?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** Runs a command of the relay from its sources on the test's Redis, under `prefix`. */
  function command(name: string, prefix: string, ...args: string[]): Started {
    return spawnCommand([name, configPath, `--redis.url=${redis.url}`, `--queue.prefix=${prefix}`, ...args], "127.0.0.1:0");
  }

  function spawnCommand(args: string[], ops: string): Started {
    const child = spawn(process.execPath, [...relayArgs, ...args], { cwd: appDir, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
    const handle: Started = {
      ops,
      output: () => output,
      exited,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        return exited;
      },
    };
    started.push(handle);
    return handle;
  }

  /** Starts a relay process (ingest, writer) and waits until it is ready. */
  async function relay(name: "ingest" | "writer", prefix: string, ...args: string[]): Promise<Started> {
    const ops = `127.0.0.1:${await freePort()}`;
    const child = spawnCommand(
      [name, configPath, `--redis.url=${redis.url}`, `--queue.prefix=${prefix}`, `--server.http.listen-addr=${ops}`, "--writer.nice=0", ...args],
      ops,
    );
    let exited = false;
    void child.exited.then(() => (exited = true));
    await pollUntil(
      `the ${name} to be ready`,
      async () => {
        if (exited) assert.fail(`the ${name} exited before it was ready:\n${child.output()}`);
        return (await fetch(`http://${ops}/-/ready`).catch(() => undefined))?.ok;
      },
      { timeoutMs: 30_000 },
    );
    return child;
  }

  const refusal = (prefix: string, shards: number, recorded: number, missed: string) =>
    `pyroscope-relay: --target.queue-shards (or RELAY_TARGET_QUEUE_SHARDS): ${shards}, but the relay's queues under prefix "${prefix}" have ${recorded} shards per target ` +
    `(recorded in Redis key ${prefix}:queue-shards): this process misses the batches of ${missed}; give every process --target.queue-shards ${recorded} ` +
    "(to lower the count instead, see the README's Redis Cluster section)\n";

  it("the first process records its count; a writer or `failed` with a smaller one exits 2 saying so; a larger one raises it; an ingest with a smaller one warns", async () => {
    const prefix = `p-${randomUUID()}`;
    const ingest = await relay("ingest", prefix, "--target.queue-shards=4");
    assert.equal(await admin.get(`${prefix}:queue-shards`), "4");

    const writer = command("writer", prefix, "--server.http.listen-addr=127.0.0.1:0");
    assert.equal(await writer.exited, 2, writer.output());
    assert.ok(writer.output().endsWith(`${refusal(prefix, 1, 4, "shards 1 to 3")}Run 'pyroscope-relay writer --help' for its flags.\n`), writer.output());

    const failed = command("failed", prefix);
    assert.equal(await failed.exited, 2, failed.output());
    assert.equal(failed.output(), `${refusal(prefix, 1, 4, "shards 1 to 3")}Run 'pyroscope-relay failed --help' for its flags.\n`);
    const replay = command("replay", prefix, "--target=a", "--target.queue-shards=3");
    assert.equal(await replay.exited, 2, replay.output());
    assert.match(
      replay.output(),
      /--target\.queue-shards \(or RELAY_TARGET_QUEUE_SHARDS\): 3, but .* misses the batches of shard 3; give every process --target\.queue-shards 4/,
    );
    const counted = command("failed", prefix, "--target.queue-shards=8");
    assert.equal(await counted.exited, 0, counted.output());
    assert.equal(await admin.get(`${prefix}:queue-shards`), "4", "an operator command leaves the record");

    const larger = await relay("writer", prefix, "--target.queue-shards=8");
    assert.equal(await admin.get(`${prefix}:queue-shards`), "8");
    assert.match(larger.output(), /"previousQueueShards":4,.*"msg":"raised the deployment's recorded --target\.queue-shards/);
    // An ingest with fewer shards than the record stores correctly: it warns, and stays ready.
    await pollUntil(
      "the ingest's warning",
      () =>
        /"recordedQueueShards":8,.*"msg":"another process raised the deployment's --target\.queue-shards to 8: profiles stored here are still delivered/.test(
          ingest.output(),
        ),
      {
        timeoutMs: 15_000,
      },
    );
    assert.equal((await fetch(`http://${ingest.ops}/-/ready`)).status, 200);

    // So does one that starts with them: an ingest still at the old count, restarted while the count is raised.
    const late = await relay("ingest", prefix, "--target.queue-shards=4");
    await pollUntil(
      "the late ingest's warning",
      () => /"recordedQueueShards":8,.*"msg":"another process raised the deployment's --target\.queue-shards to 8/.test(late.output()),
      {
        timeoutMs: 15_000,
      },
    );
    assert.equal(await admin.get(`${prefix}:queue-shards`), "8", "left as it is");
  });

  it("a running writer whose count another process raises the record above is not ready, says why, and logs it once", async () => {
    const prefix = `p-${randomUUID()}`;
    const writer = await relay("writer", prefix);
    assert.equal(await admin.get(`${prefix}:queue-shards`), "1");
    await relay("ingest", prefix, "--target.queue-shards=4");
    assert.equal(await admin.get(`${prefix}:queue-shards`), "4");

    const answer = await pollUntil(
      "the writer to be not ready",
      async () => {
        const res = await fetch(`http://${writer.ops}/-/ready`);
        return res.status === 503 ? res.text() : undefined;
      },
      { timeoutMs: 15_000 },
    );
    assert.equal(answer, `Not ready: ${refusal(prefix, 1, 4, "shards 1 to 3").slice("pyroscope-relay: ".length, -1)}`);
    const logged = () =>
      writer.output().match(/"msg":"another process raised the deployment's --target\.queue-shards to 4: this writer does not deliver/g)?.length ?? 0;
    await pollUntil("the error in the log", () => logged() === 1);
    assert.match(writer.output(), /"level":50,.*"queueShards":1,"recordedQueueShards":4,/);
    // The writer reads the record every 5 s: the next readings log nothing more.
    await sleep(6_000);
    assert.equal(logged(), 1, writer.output());
    assert.equal((await fetch(`http://${writer.ops}/-/ready`)).status, 503);
  });
});
