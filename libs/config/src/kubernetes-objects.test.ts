import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { ConfigError } from "./config-error.js";
import { kubernetesDataDigest } from "./kubernetes-reads.js";
import { loadConfig, loadTargetNames, type KubernetesObjectReader } from "./load-config.js";
import type { KubernetesObjectRequest } from "./relay-config.js";

async function configFileOf(t: TestContext, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "relay-kubernetes-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "relay.alloy");
  await writeFile(file, text);
  return file;
}

/** A Kubernetes API of `objects` (`<kind>/<namespace>/<name>` -> data), recording each read. */
function apiOf(objects: Record<string, Record<string, string>>): { read: KubernetesObjectReader; reads: KubernetesObjectRequest[] } {
  const reads: KubernetesObjectRequest[] = [];
  const read: KubernetesObjectReader = async (request) => {
    reads.push(request);
    const data = objects[`${request.kind}/${request.namespace}/${request.name}`];
    if (data === undefined) throw new Error(`${request.kind} ${request.namespace}/${request.name} not found`);
    return data;
  };
  return { read, reads };
}

const receiver = `pyroscope.receive_http "in" {
  http {
    listen_port = 9999
  }
  forward_to = [pyroscope.write.grafana_cloud.receiver]
}
`;

// As Grafana's k8s-monitoring Helm chart renders a Pyroscope destination whose credentials are in a Secret.
const chartDestination = `${receiver}
pyroscope.write "grafana_cloud" {
  endpoint {
    url = remote.kubernetes.configmap.grafana_cloud.data["url"]
    headers = {
      "X-Scope-OrgID" = convert.nonsensitive(remote.kubernetes.secret.grafana_cloud.data["tenantId"]),
    }
    basic_auth {
      username = convert.nonsensitive(remote.kubernetes.secret.grafana_cloud.data["username"])
      password = remote.kubernetes.secret.grafana_cloud.data["password"]
    }
  }
}

remote.kubernetes.secret "grafana_cloud" {
  name      = "grafana-cloud-pyroscope-k8smon"
  namespace = "monitoring"
}

remote.kubernetes.configmap "grafana_cloud" {
  name           = "pyroscope-endpoint"
  namespace      = "monitoring"
  poll_frequency = "30s"
}

remote.kubernetes.secret "metrics" {
  name      = "grafana-cloud-metrics-k8smon"
  namespace = "monitoring"
}
`;

const objects = {
  "secret/monitoring/grafana-cloud-pyroscope-k8smon": { tenantId: "123", username: "456", password: "glc_s3cret" },
  "configmap/monitoring/pyroscope-endpoint": { url: "https://profiles.grafana.net" },
};

test("a Pyroscope destination whose credentials and URL are in a Secret and a ConfigMap, as the k8s-monitoring chart renders it", async (t) => {
  const api = apiOf(objects);
  const config = await loadConfig(await configFileOf(t, chartDestination), {}, undefined, api.read);
  const [target] = config.targets;
  assert.equal(target?.url, "https://profiles.grafana.net");
  assert.deepEqual(target?.headers, { "X-Scope-OrgID": "123" });
  assert.deepEqual(target?.auth, { kind: "basic", username: "456", password: "glc_s3cret" });
  const inCluster = { kind: "in-cluster" };
  assert.deepEqual(config.kubernetesObjects, [
    {
      id: "remote.kubernetes.secret.grafana_cloud",
      request: { kind: "secret", namespace: "monitoring", name: "grafana-cloud-pyroscope-k8smon", client: inCluster, timeoutMs: 15_000 },
      pollFrequencyMs: 60_000,
      dataDigest: kubernetesDataDigest(objects["secret/monitoring/grafana-cloud-pyroscope-k8smon"]),
    },
    {
      id: "remote.kubernetes.configmap.grafana_cloud",
      request: { kind: "configmap", namespace: "monitoring", name: "pyroscope-endpoint", client: inCluster, timeoutMs: 15_000 },
      pollFrequencyMs: 30_000,
      dataDigest: kubernetesDataDigest(objects["configmap/monitoring/pyroscope-endpoint"]),
    },
  ]);
  assert.deepEqual(
    api.reads.map(({ kind, name }) => `${kind} ${name}`).sort(),
    ["configmap pyroscope-endpoint", "secret grafana-cloud-pyroscope-k8smon"],
    "each read once; the metrics Secret nothing of the relay reads is not",
  );
  assert.deepEqual(
    config.ignored.map(({ name, label }) => `${name} ${label}`),
    ["remote.kubernetes.secret metrics"],
  );
});

test("a Secret's values are secrets: one used where a string goes is refused without showing it", async (t) => {
  const file = await configFileOf(
    t,
    chartDestination.replace(
      'convert.nonsensitive(remote.kubernetes.secret.grafana_cloud.data["username"])',
      'remote.kubernetes.secret.grafana_cloud.data["username"]',
    ),
  );
  await assert.rejects(loadConfig(file, {}, undefined, apiOf(objects).read), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /username: .*secret/);
    assert.doesNotMatch(error.message, /456|glc_s3cret/);
    return true;
  });
});

test("an object that cannot be read: the configuration is refused, naming the component and why, at the reference", async (t) => {
  const file = await configFileOf(t, chartDestination);
  const failing: KubernetesObjectReader = async (request) => {
    if (request.kind === "secret") throw new Error("secret monitoring/grafana-cloud-pyroscope-k8smon: 403 Forbidden");
    return objects["configmap/monitoring/pyroscope-endpoint"];
  };
  await assert.rejects(loadConfig(file, {}, undefined, failing), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(
      error.message,
      /relay\.alloy:12:46: remote\.kubernetes\.secret\.grafana_cloud cannot be read: secret monitoring\/grafana-cloud-pyroscope-k8smon: 403 Forbidden/,
    );
    return true;
  });
  await assert.rejects(loadConfig(file, {}), /remote\.kubernetes\.secret\.grafana_cloud cannot be read: this command does not read Kubernetes objects/);
});

test("an object's arguments may read another object's data: read in the round after", async (t) => {
  const api = apiOf({
    "configmap/default/where": { namespace: "profiles", name: "token" },
    "secret/profiles/token": { token: "t0ken" },
  });
  const file = await configFileOf(
    t,
    `${receiver}
pyroscope.write "grafana_cloud" {
  endpoint {
    url          = "https://profiles.example"
    bearer_token = remote.kubernetes.secret.token.data["token"]
  }
}
remote.kubernetes.secret "token" {
  namespace = remote.kubernetes.configmap.where.data["namespace"]
  name      = remote.kubernetes.configmap.where.data["name"]
}
remote.kubernetes.configmap "where" {
  namespace = "default"
  name      = "where"
}
`,
  );
  const config = await loadConfig(file, {}, undefined, api.read);
  assert.deepEqual(config.targets[0]?.auth, { kind: "bearer", token: "t0ken" });
  assert.deepEqual(
    api.reads.map(({ kind, namespace, name }) => `${kind} ${namespace}/${name}`),
    ["configmap default/where", "secret profiles/token"],
  );
});

test("a client block with api_server sends its HTTP client settings; the kubeconfig_file alone is named", async (t) => {
  const api = apiOf({ "secret/monitoring/creds": { password: "p" } });
  const withClient = (client: string) =>
    configFileOf(
      t,
      `${receiver}
pyroscope.write "grafana_cloud" {
  endpoint {
    url = "https://profiles.example"
    basic_auth {
      username = "u"
      password = remote.kubernetes.secret.creds.data["password"]
    }
  }
}
remote.kubernetes.secret "creds" {
  namespace    = "monitoring"
  name         = "creds"
  poll_timeout = "2s"
  client {
${client}
  }
}
`,
    );
  await loadConfig(
    await withClient('    api_server = "https://10.0.0.1:6443"\n    bearer_token = "api-t0ken"\n    tls_config {\n      insecure_skip_verify = true\n    }'),
    {},
    undefined,
    api.read,
  );
  await loadConfig(await withClient('    kubeconfig_file = "/etc/kube/config"'), {}, undefined, api.read);
  assert.deepEqual(
    api.reads.map((request) => [request.client, request.timeoutMs]),
    [
      [{ kind: "api-server", http: { url: "https://10.0.0.1:6443", auth: { kind: "bearer", token: "api-t0ken" }, tls: { insecureSkipVerify: true } } }, 2_000],
      [{ kind: "kubeconfig", path: "/etc/kube/config" }, 2_000],
    ],
  );
});

test("arguments are checked as Alloy checks them", async (t) => {
  const cases: [string, RegExp][] = [
    ['  namespace = "monitoring"', /missing required attribute "name"/],
    ['  namespace = "monitoring"\n  name = "creds"\n  poll_frequency = "0s"', /poll_frequency: must be greater than 0/],
    [
      '  namespace = "monitoring"\n  name = "creds"\n  client {\n    api_server = "https://k8s"\n    kubeconfig_file = "/kube"\n  }',
      /kubeconfig_file: only one of api_server and kubeconfig_file can be set/,
    ],
    [
      '  namespace = "monitoring"\n  name = "creds"\n  client {\n    bearer_token = "t"\n  }',
      /bearer_token: api_server must be set when custom HTTP client configuration is provided/,
    ],
    [
      '  namespace = "monitoring"\n  name = "creds"\n  client {\n    kubeconfig_file = "/kube"\n    bearer_token = "t"\n  }',
      /bearer_token: custom HTTP client configuration is not allowed when kubeconfig_file is set/,
    ],
    [
      '  namespace = "monitoring"\n  name = "creds"\n  client {\n    api_server = "https://k8s"\n    bearer_token = "t"\n    bearer_token_file = "/t"\n  }',
      /set at most one of/,
    ],
  ];
  for (const [body, expected] of cases) {
    const file = await configFileOf(
      t,
      `${receiver}
pyroscope.write "grafana_cloud" {
  endpoint {
    url          = "https://profiles.example"
    bearer_token = remote.kubernetes.secret.creds.data["token"]
  }
}
remote.kubernetes.secret "creds" {
${body}
}
`,
    );
    await assert.rejects(loadConfig(file, {}, undefined, apiOf({}).read), (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.match(error.message, expected);
      return true;
    });
  }
});

test("what a reference reads of an object: data, a key, and the mistakes named", async (t) => {
  const api = apiOf({ "configmap/monitoring/endpoint": { url: "https://profiles.example", tenant: "1" } });
  const withUrl = (url: string) =>
    configFileOf(
      t,
      `${receiver}
pyroscope.write "grafana_cloud" {
  endpoint {
    url = ${url}
  }
}
remote.kubernetes.configmap "endpoint" {
  namespace = "monitoring"
  name      = "endpoint"
}
`,
    );
  const read = async (url: string) => (await loadConfig(await withUrl(url), {}, undefined, api.read)).targets[0]?.url;
  assert.equal(await read("remote.kubernetes.configmap.endpoint.data.url"), "https://profiles.example");
  assert.equal(await read('remote.kubernetes.configmap.endpoint.data["url"]'), "https://profiles.example");
  const refused = async (url: string, expected: RegExp) =>
    assert.rejects(read(url), (error: unknown) => error instanceof ConfigError && expected.test(error.message));
  await refused("remote.kubernetes.configmap.endpoint.data.nope", /remote\.kubernetes\.configmap\.endpoint\.data has no key "nope"/);
  // As in Alloy, an index of a key the data lacks is null.
  await refused('remote.kubernetes.configmap.endpoint.data["nope"]', /url: must be an absolute http:\/\/ or https:\/\/ URL/);
  await refused(
    "remote.kubernetes.configmap.endpoint.content",
    /remote\.kubernetes\.configmap\.endpoint has no export "content": remote\.kubernetes\.configmap exports data/,
  );
  await refused(
    "remote.kubernetes.configmap.other.data.url",
    /remote\.kubernetes\.configmap\.other is not defined: the configuration has no remote\.kubernetes\.configmap "other" block/,
  );
});

test("an object whose arguments read its own data depends on itself", async (t) => {
  const file = await configFileOf(
    t,
    `${receiver}
pyroscope.write "grafana_cloud" {
  endpoint {
    url = remote.kubernetes.configmap.loop.data["url"]
  }
}
remote.kubernetes.configmap "loop" {
  namespace = "monitoring"
  name      = remote.kubernetes.configmap.loop.data["name"]
}
`,
  );
  await assert.rejects(
    loadConfig(file, {}, undefined, apiOf({}).read),
    /remote\.kubernetes\.configmap\.loop depends on itself: remote\.kubernetes\.configmap\.loop -> remote\.kubernetes\.configmap\.loop/,
  );
});

test("the operator commands read no object: every key reads as empty, an object's arguments unchecked", async (t) => {
  // Without a reader any read would fail (see above); an object whose namespace another's data gives included.
  const chained = chartDestination.replace('namespace = "monitoring"', 'namespace = remote.kubernetes.configmap.grafana_cloud.data["namespace"]');
  assert.notEqual(chained, chartDestination);
  assert.deepEqual(await loadTargetNames(await configFileOf(t, chained), {}), ["grafana_cloud"]);
});

test("in a custom component instance, an object is named by its component ID", async (t) => {
  const file = await configFileOf(
    t,
    `declare "profiles" {
  argument "destinations" { }
  pyroscope.receive_http "default" {
    http {
      listen_port = remote.kubernetes.configmap.port.data["port"]
    }
    forward_to = argument.destinations.value
  }
  remote.kubernetes.configmap "port" {
    namespace = "monitoring"
    name      = "port"
  }
}
profiles "feature" {
  destinations = [pyroscope.write.grafana_cloud.receiver]
}
pyroscope.write "grafana_cloud" {
  endpoint {
    url = remote.kubernetes.configmap.endpoint.data["url"]
  }
}
remote.kubernetes.configmap "endpoint" {
  namespace = "monitoring"
  name      = "endpoint"
}
`,
  );
  const objects = { "configmap/monitoring/endpoint": { url: "https://profiles.example" }, "configmap/monitoring/port": { port: "4040" } };
  const config = await loadConfig(file, {}, undefined, apiOf(objects).read);
  assert.equal(config.receivers[0]?.listenPort, 4040);
  assert.deepEqual(
    config.kubernetesObjects.map(({ id }) => id),
    ["profiles.feature/remote.kubernetes.configmap.port", "remote.kubernetes.configmap.endpoint"],
  );
  assert.deepEqual(config.ignored, []);
});
