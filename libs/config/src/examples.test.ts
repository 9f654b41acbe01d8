import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { basename, join } from "node:path";
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

test("examples/alloy-full.alloy: a whole Alloy configuration runs its receiver and writers, the rest ignored", async () => {
  const dir = await mkdtemp(join(tmpdir(), "alloy-full-"));
  const passwordFile = join(dir, "password");
  await writeFile(passwordFile, "pw from a file\n");
  const config = await loadConfig(example("alloy-full.alloy"), { PYROSCOPE_PASSWORD_FILE: passwordFile, CLUSTER: "EU-1" });
  await rm(dir, { recursive: true });
  assert.deepEqual(
    config.receivers.map((r) => [r.label, r.listenAddress, r.listenPort, r.targets]),
    [["default", "0.0.0.0", 9999, ["production", "staging"]]],
  );
  const [production, staging] = config.targets;
  assert.equal(production?.url, "https://pyroscope.example.com");
  assert.deepEqual(production?.headers, { "X-Scope-OrgID": "platform" });
  // As Alloy exports it: the file's content as it is, newline included.
  assert.deepEqual(production?.auth, { kind: "basic", username: "relay", password: "pw from a file\n" });
  assert.deepEqual(production?.externalLabels, { cluster: "eu-1", node: hostname() });
  assert.equal(staging?.url, "http://pyroscope-staging:4040");
  assert.deepEqual(
    config.ignored.map(({ name, label, line }) => [name, label, line]),
    [
      ["logging", undefined, 10],
      ["discovery.kubernetes", "pods", 21],
      ["discovery.relabel", "pods", 30],
      ["pyroscope.scrape", "pods", 46],
      ["pyroscope.relabel", "sample", 64],
      ["prometheus.exporter.self", "alloy", 82],
      ["prometheus.scrape", "alloy", 84],
      ["prometheus.remote_write", "metrics", 89],
    ],
  );
  assert.ok(config.ignored.every((c) => c.file === example("alloy-full.alloy") && c.col === 1));
  assert.deepEqual(
    config.localFiles.map(({ label, path, detector, pollFrequencyMs }) => [label, path, detector, pollFrequencyMs]),
    [["pyroscope_password", passwordFile, "fsnotify", 60_000]],
  );
});

test("examples/alloy-dir: a directory is one configuration, its files referring to each other", async () => {
  const config = await loadConfig(example("alloy-dir"), { PYROSCOPE_URL: "http://pyroscope:4040" });
  assert.deepEqual(
    config.receivers.map((r) => [r.label, r.listenAddress, r.listenPort, r.targets]),
    [["default", "127.0.0.1", 4041, ["pyroscope"]]],
  );
  assert.deepEqual(
    config.targets.map((t) => [t.name, t.url]),
    [["pyroscope", "http://pyroscope:4040"]],
  );
  assert.deepEqual(
    config.ignored.map(({ name, file }) => [name, basename(file)]),
    [
      ["discovery.kubernetes", "discovery.alloy"],
      ["pyroscope.scrape", "discovery.alloy"],
    ],
  );
});

test("examples/k8s-monitoring-profiles.alloy: the k8s-monitoring chart's receiver runs in its custom component", async () => {
  const config = await loadConfig(example("k8s-monitoring-profiles.alloy"), {});
  assert.deepEqual(
    config.receivers.map((r) => [r.label, r.listenAddress, r.listenPort, r.targets]),
    [["profiles_receiver.feature/pyroscope.receive_http.default", "0.0.0.0", 4040, ["pyroscope"]]],
  );
  assert.deepEqual(
    config.targets.map((t) => [t.name, t.url, t.maxBackoffRetries, t.externalLabels]),
    [["pyroscope", "http://pyroscope.pyroscope.svc:4040", 10, { cluster: "profiles-receiver-cluster", k8s_cluster_name: "profiles-receiver-cluster" }]],
  );
  assert.deepEqual(config.ignored, []);
});

test("examples/k8s-monitoring-secret.alloy: a destination whose credentials the chart keeps in a Secret", async () => {
  const reads: string[] = [];
  const config = await loadConfig(example("k8s-monitoring-secret.alloy"), {}, undefined, async ({ kind, namespace, name, client }) => {
    reads.push(`${kind} ${namespace}/${name} ${client.kind}`);
    return { tenantId: "123456", username: "123456", password: "glc_token" };
  });
  assert.deepEqual(reads, ["secret default/grafana-cloud-profiles-k8smon-k8s-monitoring in-cluster"]);
  const [target] = config.targets;
  assert.equal(target?.url, "https://profiles-prod-001.grafana.net");
  assert.deepEqual(target?.headers, { "X-Scope-OrgID": "123456" });
  assert.deepEqual(target?.auth, { kind: "basic", username: "123456", password: "glc_token" });
  assert.deepEqual(
    config.kubernetesObjects.map(({ id, pollFrequencyMs }) => [id, pollFrequencyMs]),
    [["remote.kubernetes.secret.grafana_cloud_profiles", 60_000]],
  );
});
