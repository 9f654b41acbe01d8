import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { gzippedPprof, startFakeTarget, freePort } from "@pyroscope-relay/testing";
import type { FakeTarget } from "@pyroscope-relay/testing";
import { startRelayProcess } from "./support/relay-process.js";
import type { RelayProcess } from "./support/relay-process.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

describe("a whole Alloy configuration from Alloy's docs runs: its receiver and writers, the rest ignored", () => {
  let production: FakeTarget;
  let staging: FakeTarget;
  let relay: RelayProcess;
  let port: number;
  let secrets: string;

  before(async () => {
    secrets = await mkdtemp(join(tmpdir(), "relay-alloy-config-"));
    await writeFile(join(secrets, "password"), "from-a-file");
    production = await startFakeTarget();
    staging = await startFakeTarget();
    port = await freePort();
    // The example as shipped, with its addresses pointed at this test's servers.
    const config = (await readFile(join(root, "examples/alloy-full.alloy"), "utf8"))
      .replace('listen_address = "0.0.0.0"', 'listen_address = "127.0.0.1"')
      .replace("listen_port    = 9999", `listen_port    = ${port}`)
      .replace('"https://%s"', '"http://%s"')
      .replace('"http://pyroscope-staging:4040"', `"${staging.url}"`);
    relay = await startRelayProcess({
      config,
      args: ["--log.level=info"],
      env: { PYROSCOPE_HOST: new URL(production.url).host, PYROSCOPE_PASSWORD_FILE: join(secrets, "password"), CLUSTER: "Prod-EU" },
    });
  });

  after(async () => {
    await relay?.stop();
    await production?.close();
    await staging?.close();
    await rm(secrets, { recursive: true, force: true });
  });

  it("delivers to both writers with the configuration's expressions evaluated, and warns once about the rest", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/ingest?name=checkout&format=pprof`, { method: "POST", body: gzippedPprof({ seed: 5 }) });
    assert.equal(res.status, 200, await res.text());
    const [sent] = await production.waitForRequests(1, 10_000);
    await staging.waitForRequests(1, 10_000);
    assert.equal(sent!.headers.authorization, `Basic ${Buffer.from("relay:from-a-file").toString("base64")}`);
    assert.equal(sent!.headers["x-scope-orgid"], "platform");
    const name = new URLSearchParams(sent!.query).get("name") ?? "";
    assert.match(name, /cluster=prod-eu/, "string.to_lower(coalesce(sys.env(...)))");
    assert.ok(name.includes(`node=${hostname()}`), `constants.hostname in ${name}`);
    const warned = () =>
      relay
        .output()
        .split("\n")
        .filter((line) => line.includes("other components are ignored"));
    for (const deadline = Date.now() + 5_000; warned().length === 0 && Date.now() < deadline; ) await sleep(20);
    const warnings = warned();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /discovery\.kubernetes \\"pods\\"/);
  });
});

/** A relay running one of the k8s-monitoring chart's renderings (an example file), and its destination. */
interface ChartRelay {
  target: FakeTarget;
  relay: RelayProcess;
  port: number;
}

/** Runs `example` as shipped, with its addresses pointed at this test's servers; stopped after the suite. */
function chartRelay(example: string): ChartRelay {
  const running = {} as ChartRelay;
  before(async () => {
    running.target = await startFakeTarget();
    running.port = await freePort();
    const config = (await readFile(join(root, "examples", example), "utf8"))
      .replace('listen_address = "0.0.0.0"', 'listen_address = "127.0.0.1"')
      .replace('listen_port = "4040"', `listen_port = "${running.port}"`)
      .replace('"http://pyroscope.pyroscope.svc:4040"', `"${running.target.url}"`);
    running.relay = await startRelayProcess({ config });
  });
  after(async () => {
    await running.relay?.stop();
    await running.target?.close();
  });
  return running;
}

describe("the k8s-monitoring chart's receiver, in a custom component (declare), runs once for its instance", () => {
  const chart = chartRelay("k8s-monitoring-profiles.alloy");

  it("receives an /ingest and delivers it to the write its argument names; the metrics name the receiver by Alloy's component ID", async () => {
    const { target, relay, port } = chart;
    const res = await fetch(`http://127.0.0.1:${port}/ingest?name=checkout&format=pprof`, { method: "POST", body: gzippedPprof({ seed: 6 }) });
    assert.equal(res.status, 200, await res.text());
    const [sent] = await target.waitForRequests(1, 10_000);
    assert.match(new URLSearchParams(sent!.query).get("name") ?? "", /^checkout\{.*cluster=profiles-receiver-cluster/);
    const metrics = await (await fetch(`${relay.opsUrl}/metrics`)).text();
    assert.match(
      metrics,
      /^pyroscope_relay_received_profiles_total\{component="profiles_receiver\.feature\/pyroscope\.receive_http\.default",api="ingest"\} 1$/m,
    );
  });
});

describe("the k8s-monitoring chart's receiver with processing rules: its pyroscope.relabel samples by hash", () => {
  const chart = chartRelay("k8s-monitoring-profiles-rules.alloy");

  it("delivers the profiles whose env hashes to 0, with the rule's label, and counts the others dropped", async () => {
    const { target, relay, port } = chart;
    const envs = ["a", "b", "c", "d", "e", "f", "g", "h"];
    // Prometheus' hashmod: the MD5's last 8 bytes, big-endian, modulo 2: the last byte's parity.
    const kept = envs.filter((env) => createHash("md5").update(env).digest()[15]! % 2 === 0);
    assert.ok(kept.length > 0 && kept.length < envs.length, `${kept}`);
    for (const env of envs) {
      const res = await fetch(`http://127.0.0.1:${port}/ingest?name=checkout%7Benv%3D${env}%7D&format=pprof`, {
        method: "POST",
        body: gzippedPprof({ seed: 7 }),
      });
      assert.equal(res.status, 200, await res.text());
    }
    const metrics = async () => (await fetch(`${relay.opsUrl}/metrics`)).text();
    const dropped = new RegExp(
      `^pyroscope_relabel_profiles_dropped\\{target="pyroscope",endpoint="${target.url}",component_id="profiles_receiver\\.feature/pyroscope\\.relabel\\.default"\\} ${envs.length - kept.length}$`,
      "m",
    );
    for (const deadline = Date.now() + 10_000; !dropped.test(await metrics()) && Date.now() < deadline; ) await sleep(50);
    assert.match(await metrics(), dropped);
    const sent = await target.waitForRequests(kept.length, 10_000);
    await sleep(200);
    assert.equal(target.requests.length, kept.length, "no dropped profile went out");
    const names = sent.map((request) => new URLSearchParams(request.query).get("name")).sort();
    assert.deepEqual(
      names,
      kept
        .map((env) => `checkout{__tmp_hash=0,cluster=profiles-receiver-cluster,env=${env},k8s_cluster_name=profiles-receiver-cluster,service_name=checkout}`)
        .sort(),
    );
  });
});
