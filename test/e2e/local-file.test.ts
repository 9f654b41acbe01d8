import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, startFakeTarget } from "@pyroscope-relay/testing";
import type { FakeTarget } from "@pyroscope-relay/testing";
import { deliveredProfile } from "./support/delivered-profile.js";
import { relayConfig } from "./support/relay-config.js";
import { startRelayProcess } from "./support/relay-process.js";
import type { RelayProcess } from "./support/relay-process.js";
import { runCommand } from "./support/run-command.js";

const basic = (password: string) => `Basic ${Buffer.from(`12345:${password}`).toString("base64")}`;

/**
 * A relay whose target's password comes from a secret local.file, as Grafana Cloud's configurations
 * have it; the file is rewritten while the relay runs, and the next request carries the new password.
 */
function passwordRotation(name: string, detector: string, rotate: (file: string, password: string) => Promise<void>) {
  let target: FakeTarget;
  let relay: RelayProcess;
  let port: number;
  let secrets: string;
  let config: string;
  const passwordFile = () => join(secrets, "password");
  const passwords = { first: `first ${name} secret\n`, second: `second ${name} secret` };

  const sendAndReceive = (profile: string) => deliveredProfile(port, target, relay, profile);

  before(async () => {
    target = await startFakeTarget();
    port = await freePort();
    secrets = await mkdtemp(join(tmpdir(), "relay-local-file-"));
    await writeFile(passwordFile(), passwords.first);
    config = `${relayConfig({
      port,
      targets: [{ name: "cloud", url: target.url, endpoint: '    basic_auth {\n      username = "12345"\n      password = local.file.api_key.content\n    }' }],
    })}
local.file "api_key" {
  filename  = ${JSON.stringify(passwordFile())}
  is_secret = true
  ${detector}
}
`;
    relay = await startRelayProcess({ config, args: ["--log.level=debug"] });
  });

  after(async () => {
    await relay?.stop();
    await target?.close();
    await rm(secrets, { recursive: true, force: true });
  });

  it("delivers with the file's content as the password, byte for byte", async () => {
    const sent = await sendAndReceive("before");
    assert.equal(sent.headers.authorization, basic(passwords.first));
  });

  it("reloads when the file changes: the next request carries the new password", async () => {
    await rotate(passwordFile(), passwords.second);
    for (const deadline = Date.now() + 15_000; !relay.output().includes("configuration reloaded"); await sleep(50)) {
      if (Date.now() > deadline) assert.fail(`no reload:\n${relay.output().slice(-3_000)}`);
    }
    assert.match(relay.output(), /local\.file changed: reloading the configuration/);
    const sent = await sendAndReceive("after");
    assert.equal(sent.headers.authorization, basic(passwords.second));
  });

  it("never logs the secret, nor does check print it", async () => {
    const checked = await runCommand(["check", join(relay.dir, "relay.alloy")]);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, /^local\.file api_key: .*password$/m);
    for (const password of Object.values(passwords)) {
      const text = password.trim();
      assert.ok(!checked.stdout.includes(text) && !checked.stderr.includes(text), "check's output");
      assert.ok(!relay.output().includes(text), "the relay's log");
    }
  });
}

describe("local.file with detector = poll: a rewritten password file is taken at the next poll", () => {
  passwordRotation("poll", 'detector = "poll"\n  poll_frequency = "200ms"', (file, password) => writeFile(file, password));
});

describe("local.file with fsnotify (the default, polling every minute): a secret renamed over the file is taken at once", () => {
  passwordRotation("fsnotify", "", async (file, password) => {
    await writeFile(`${file}.new`, password);
    await rename(`${file}.new`, file);
  });
});

describe("local.file that cannot be read: the relay does not start, as Alloy does not", () => {
  it("check and run exit 1 naming the component and the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "relay-local-file-"));
    const missing = join(dir, "missing");
    const config = join(dir, "relay.alloy");
    await writeFile(
      config,
      `${relayConfig({ port: await freePort(), targets: [{ name: "a", url: "http://127.0.0.1:1", endpoint: "    bearer_token = local.file.token.content" }] })}
local.file "token" {
  filename = ${JSON.stringify(missing)}
}
`,
    );
    for (const command of ["check", "run"]) {
      const result = await runCommand([command, config, `--storage.path=${join(dir, "data")}`]);
      assert.equal(result.code, 1, `${command}: ${result.stderr}`);
      assert.match(result.stderr, new RegExp(`relay\\.alloy:\\d+:\\d+: local\\.file "token": cannot read "${missing}": ENOENT`));
    }
    await rm(dir, { recursive: true, force: true });
  });
});
