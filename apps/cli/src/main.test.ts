import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { freePort, pollUntil, startRedisServer, type RedisServerHandle } from "@pyroscope-relay/testing";

/** The command from its sources, as the specs import the libraries. */
const appDir = fileURLToPath(new URL("..", import.meta.url));
const relayArgs = ["--conditions=@pyroscope-relay/source", "--import", "tsx", "src/main.ts"];

/** A receiver serving TLS with certificates that are not on this host, as on a writer's host. */
function configWith(writes: string[]): string {
  const targets = writes.map((label) => `pyroscope.write "${label}" {\n  endpoint {\n    url = "http://127.0.0.1:9"\n  }\n}\n`);
  return `pyroscope.receive_http "in" {
  http {
    listen_port = 0
    tls {
      cert_file = "/nowhere/server.crt"
      key_file  = "/nowhere/server.key"
    }
  }
  forward_to = [${writes.map((label) => `pyroscope.write.${label}.receiver`).join(", ")}]
}
${targets.join("")}`;
}

interface Started {
  output(): string;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

function startCommand(args: string[]): Started {
  const child = spawn(process.execPath, [...relayArgs, ...args], { cwd: appDir, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  return {
    output: () => output,
    exited: new Promise((done) => child.once("exit", (code) => done(code))),
    kill: (signal) => child.kill(signal),
  };
}

describe("the receivers' tls files: the writer reads none of them, ingest and check refuse them missing", () => {
  let redis: RedisServerHandle;
  let dir: string;
  let config: string;
  before(async () => {
    redis = await startRedisServer();
    dir = await mkdtemp(join(tmpdir(), "relay-cli-"));
    config = join(dir, "relay.alloy");
    await writeFile(config, configWith(["a"]));
  });
  after(async () => {
    await redis?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("a writer starts and reloads where the receivers' certificates are not", async () => {
    const ops = `127.0.0.1:${await freePort()}`;
    const writer = startCommand(["writer", config, `--redis.url=${redis.url}`, `--server.http.listen-addr=${ops}`, "--writer.nice=0"]);
    let exited = false;
    void writer.exited.then(() => (exited = true));
    try {
      await pollUntil(
        "the writer to be ready",
        async () => {
          if (exited) assert.fail(`the writer exited before it was ready:\n${writer.output()}`);
          return (await fetch(`http://${ops}/-/ready`).catch(() => undefined))?.ok;
        },
        { timeoutMs: 30_000 },
      );
      await writeFile(config, configWith(["a", "b"]));
      const reloaded = await fetch(`http://${ops}/-/reload`, { method: "POST" });
      assert.equal(reloaded.status, 200, await reloaded.text());
      await pollUntil("the reload to be logged", () => /"targets":\{"added":\["b"\]/.test(writer.output()));
    } finally {
      writer.kill("SIGTERM");
    }
    assert.equal(await writer.exited, 0, writer.output());
  });

  for (const command of ["ingest", "check"]) {
    it(`${command} refuses them, at file:line:col`, async () => {
      await writeFile(config, configWith(["a"]));
      const refused = startCommand([command, config, `--redis.url=${redis.url}`, "--server.http.listen-addr=127.0.0.1:0"]);
      assert.equal(await refused.exited, 1, refused.output());
      assert.equal(
        refused.output(),
        [
          `${config}:5:19: cert_file: cannot read "/nowhere/server.crt": ENOENT: no such file or directory, open '/nowhere/server.crt'`,
          `${config}:6:19: key_file: cannot read "/nowhere/server.key": ENOENT: no such file or directory, open '/nowhere/server.key'`,
          "",
        ].join("\n"),
      );
    });
  }
});
