import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadConfig } from "./load-config.js";

const example = (name: string) => fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url));

test("examples/relay.alloy: one receiver on 127.0.0.1:4041 forwarding to local and mirror", async () => {
  const config = await loadConfig(example("relay.alloy"), {});
  assert.deepEqual(
    config.receivers.map((r) => [r.listenAddress, r.listenPort, r.targets]),
    [["127.0.0.1", 4041, ["local", "mirror"]]],
  );
  assert.deepEqual(
    config.targets.map((t) => [t.name, t.url]),
    [
      ["local", "http://127.0.0.1:4040"],
      ["mirror", "http://127.0.0.1:4042"],
    ],
  );
});

test("examples/seed.alloy: the documentation's example parses as Alloy reads it", async () => {
  const config = await loadConfig(example("seed.alloy"), {});
  assert.deepEqual(
    config.receivers.map((r) => [r.label, r.listenAddress, r.listenPort, r.forwardTo]),
    [["default", "", 9999, ["staging", "production"]]],
  );
  assert.deepEqual(
    config.targets.map((t) => [t.name, t.url]),
    [
      ["staging", "http://pyroscope-staging:4040"],
      ["production", "http://pyroscope-production:4040"],
    ],
  );
});
