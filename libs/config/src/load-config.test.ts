import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "./config-error.js";
import { loadConfig } from "./load-config.js";

test("reads the file and the files its *_file attributes name", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "relay-config-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, "token");
  await writeFile(tokenFile, "t0ken\n");
  const configFile = join(dir, "relay.alloy");
  await writeFile(
    configFile,
    `pyroscope.receive_http "in" {
  forward_to = [pyroscope.write.w.receiver]
}
pyroscope.write "w" {
  endpoint {
    url               = env("URL")
    bearer_token_file = ${JSON.stringify(tokenFile)}
  }
}
`,
  );
  const config = await loadConfig(configFile, { URL: "http://pyroscope:4040" });
  assert.equal(config.targets[0]?.url, "http://pyroscope:4040");
  assert.deepEqual(config.targets[0]?.auth, { kind: "bearer", token: "t0ken" });
});

test("reports a configuration file that cannot be read", async () => {
  const missing = join(tmpdir(), "relay-config-does-not-exist.alloy");
  await assert.rejects(loadConfig(missing, {}), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /^.*relay-config-does-not-exist\.alloy: cannot read configuration: ENOENT/);
    assert.equal((error.cause as NodeJS.ErrnoException).code, "ENOENT");
    return true;
  });
});
