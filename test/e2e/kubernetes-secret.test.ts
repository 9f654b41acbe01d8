import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, startFakeTarget, testPki } from "@pyroscope-relay/testing";
import type { FakeTarget } from "@pyroscope-relay/testing";
import { deliveredProfile } from "./support/delivered-profile.js";
import { relayConfig } from "./support/relay-config.js";
import { startRelayProcess } from "./support/relay-process.js";
import type { RelayProcess } from "./support/relay-process.js";
import { runCommand } from "./support/run-command.js";

const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;

/** A Kubernetes API server over HTTPS that serves one Secret, to a bearer token, as the real one answers. */
class FakeKubernetesApi {
  data: Record<string, string> = {};
  /** Answer 503 to everything, as an API server in trouble. */
  failing = false;
  readonly paths: string[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(cert: string, key: string, token: string): Promise<FakeKubernetesApi> {
    let api: FakeKubernetesApi | undefined;
    const server = createServer({ cert, key }, (req, res) => {
      api!.paths.push(req.url ?? "");
      const json = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (api!.failing)
        return json(503, {
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          message: "the server is currently unable to handle the request",
          reason: "ServiceUnavailable",
          code: 503,
        });
      if (req.headers.authorization !== `Bearer ${token}`)
        return json(401, { kind: "Status", apiVersion: "v1", status: "Failure", message: "Unauthorized", reason: "Unauthorized", code: 401 });
      if (req.url !== "/api/v1/namespaces/monitoring/secrets/pyroscope-credentials") {
        return json(404, { kind: "Status", apiVersion: "v1", status: "Failure", message: "not found", reason: "NotFound", code: 404 });
      }
      const data = Object.fromEntries(Object.entries(api!.data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
      return json(200, { kind: "Secret", apiVersion: "v1", metadata: { name: "pyroscope-credentials", namespace: "monitoring" }, data, type: "Opaque" });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    api = new FakeKubernetesApi(server, `https://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return api;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe("remote.kubernetes.secret: a target's credentials from a Kubernetes Secret, as the k8s-monitoring chart keeps them", () => {
  let api: FakeKubernetesApi;
  let target: FakeTarget;
  let relay: RelayProcess;
  let port: number;
  let dir: string;
  const apiToken = "kubernetes-api-t0ken";
  const passwords = { first: "first-s3cret-password", second: "second-s3cret-password" };

  const sendAndReceive = (profile: string) => deliveredProfile(port, target, relay, profile);

  const configFor = (apiUrl: string, ca: string) => `${relayConfig({
    port,
    targets: [
      {
        name: "cloud",
        url: target.url,
        endpoint: [
          "    headers = {",
          '      "X-Scope-OrgID" = convert.nonsensitive(remote.kubernetes.secret.cloud.data["tenantId"]),',
          "    }",
          "    basic_auth {",
          '      username = convert.nonsensitive(remote.kubernetes.secret.cloud.data["username"])',
          '      password = remote.kubernetes.secret.cloud.data["password"]',
          "    }",
        ].join("\n"),
      },
    ],
  })}
remote.kubernetes.secret "cloud" {
  namespace      = "monitoring"
  name           = "pyroscope-credentials"
  poll_frequency = "200ms"
  client {
    api_server   = ${JSON.stringify(apiUrl)}
    bearer_token = ${JSON.stringify(apiToken)}
    tls_config {
      ca_pem = ${JSON.stringify(ca)}
    }
  }
}
`;

  before(async () => {
    const pki = await testPki();
    const authority = await pki.authority("kubernetes-ca");
    const serving = await authority.issue("kubernetes", { names: ["127.0.0.1"] });
    api = await FakeKubernetesApi.start(serving.cert.pem, serving.key.pem, apiToken);
    api.data = { tenantId: "1234", username: "5678", password: passwords.first };
    target = await startFakeTarget();
    port = await freePort();
    relay = await startRelayProcess({ config: configFor(api.url, authority.cert.pem), args: ["--log.level=debug"] });
  });

  after(async () => {
    await relay?.stop();
    await target?.close();
    await api?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("delivers with the Secret's values: the tenant header, the username and the password", async () => {
    const sent = await sendAndReceive("before");
    assert.equal(sent.headers.authorization, basic("5678", passwords.first));
    assert.equal(sent.headers["x-scope-orgid"], "1234");
    assert.ok(api.paths.includes("/api/v1/namespaces/monitoring/secrets/pyroscope-credentials"));
  });

  it("reads the Secret again every poll_frequency and reloads when it changed: the next request carries the new password", async () => {
    api.data = { ...api.data, password: passwords.second };
    for (const deadline = Date.now() + 15_000; !relay.output().includes("configuration reloaded"); await sleep(50)) {
      if (Date.now() > deadline) assert.fail(`no reload:\n${relay.output().slice(-3_000)}`);
    }
    assert.match(relay.output(), /"component":"remote\.kubernetes\.secret\.cloud".*Kubernetes object changed: reloading the configuration/);
    const sent = await sendAndReceive("after");
    assert.equal(sent.headers.authorization, basic("5678", passwords.second));
  });

  it("an API that fails keeps the data read last, as Alloy keeps a component's exports: the poll says so, and a reload takes it", async () => {
    api.failing = true;
    for (
      const deadline = Date.now() + 15_000;
      !relay.output().includes("cannot read a Kubernetes object: the relay keeps what it read last");
      await sleep(50)
    ) {
      if (Date.now() > deadline) assert.fail(`no failed read logged:\n${relay.output().slice(-3_000)}`);
    }
    const reloaded = await fetch(`${relay.opsUrl}/-/reload`, { method: "POST" });
    assert.equal(reloaded.status, 200, await reloaded.text());
    assert.match(
      relay.output(),
      /"object":"secret monitoring\/pyroscope-credentials".*cannot read a Kubernetes object: the configuration takes its data read last/,
    );
    const sent = await sendAndReceive("while-failing");
    assert.equal(sent.headers.authorization, basic("5678", passwords.second));
    api.failing = false;
  });

  it("never logs a secret, nor does check print one; check lists the object", async () => {
    const checked = await runCommand(["check", join(relay.dir, "relay.alloy")]);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, /^remote\.kubernetes\.secret\.cloud: secret monitoring\/pyroscope-credentials$/m);
    for (const secret of [...Object.values(passwords), apiToken]) {
      assert.ok(!checked.stdout.includes(secret) && !checked.stderr.includes(secret), "check's output");
      assert.ok(!relay.output().includes(secret), "the relay's log");
    }
  });

  it("a Secret that cannot be read: check and run exit 1 naming the component and the answer", async () => {
    dir = await mkdtemp(join(tmpdir(), "relay-kubernetes-"));
    const config = join(dir, "relay.alloy");
    await writeFile(
      config,
      configFor(api.url, "")
        .replace('"pyroscope-credentials"', '"missing"')
        .replace(/\n {4}tls_config \{\n.*\n {4}\}/, "\n    tls_config {\n      insecure_skip_verify = true\n    }"),
    );
    for (const command of ["check", "run"]) {
      const result = await runCommand([command, config, `--storage.path=${join(dir, "data")}`]);
      assert.equal(result.code, 1, `${command}: ${result.stderr}`);
      assert.match(result.stderr, /relay\.alloy:\d+:\d+: remote\.kubernetes\.secret\.cloud cannot be read: .*secret monitoring\/missing.*not found/);
      assert.ok(!result.stderr.includes(apiToken), "the API token is not shown");
    }
  });
});
