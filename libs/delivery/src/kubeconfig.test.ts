// kubeconfig files as kubectl writes them, read into the HTTP client settings of their current
// context: what client-go takes from them, what it refuses, and errors that name no secret.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { stringify } from "yaml";
import { decodeBase64, KubeconfigError, readKubeconfig } from "./kubeconfig.js";

const token = "eyJhbGciOiJSUzI1NiJ9.s3cr3t-token";
const password = "hunter2-password";
const caPem = "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n";
const b64 = (text: string) => Buffer.from(text).toString("base64");

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "relay-kubeconfig-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A kubeconfig with one context, `dev`, of cluster `kind-dev` and user `admin`; `overrides` replace its top level. */
function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>, overrides: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "kind-dev", cluster }],
    users: [{ name: "admin", user }],
    contexts: [{ name: "dev", context: { cluster: "kind-dev", user: "admin", namespace: "default" } }],
    "current-context": "dev",
    preferences: {},
    ...overrides,
  });
}

async function written(t: TestContext, text: string): Promise<string> {
  const path = join(await tempDir(t), "config");
  await writeFile(path, text);
  return path;
}

async function kubeconfigError(path: string): Promise<KubeconfigError> {
  const error = await readKubeconfig(path).then(
    () => assert.fail("expected the kubeconfig to be refused"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof KubeconfigError, String(error));
  assert.ok(!error.message.includes(token) && !error.message.includes(password), error.message);
  return error;
}

test("a kubeconfig as kubectl writes it: the current context's server, CA data, TLS server name and token; the environment's proxy", async (t) => {
  const path = await written(
    t,
    `apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: ${b64(caPem)}
    server: https://127.0.0.1:6443
    tls-server-name: kubernetes.default
  name: kind-dev
- cluster:
    server: https://prod.example:6443
  name: prod
contexts:
- context:
    cluster: prod
    user: prod-admin
  name: prod
- context:
    cluster: kind-dev
    namespace: not-used
    user: kind-dev
  name: kind-dev
current-context: kind-dev
preferences: {}
users:
- name: prod-admin
  user:
    token: other
- name: kind-dev
  user:
    token: ${token}
`,
  );
  assert.deepEqual(await readKubeconfig(path), {
    url: "https://127.0.0.1:6443",
    auth: { kind: "bearer", token },
    tls: { insecureSkipVerify: false, ca: caPem, serverName: "kubernetes.default" },
    proxy: { kind: "environment" },
    followRedirects: true,
    enableHttp2: true,
  });
});

test("files named relative to the kubeconfig's directory: certificate-authority, client-certificate, client-key, tokenFile (which wins over token)", async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, "pki"));
  await writeFile(join(dir, "pki", "ca.crt"), caPem);
  await writeFile(join(dir, "pki", "client.crt"), "CLIENT CERT");
  await writeFile(join(dir, "pki", "client.key"), "CLIENT KEY");
  await writeFile(join(dir, "token"), `  ${token}\n`);
  const path = join(dir, "config");
  await writeFile(
    path,
    kubeconfig(
      { server: "https://k8s.example:6443/gateway", "certificate-authority": "pki/ca.crt" },
      { tokenFile: "token", token: "stale", "client-certificate": "pki/client.crt", "client-key": join(dir, "pki", "client.key") },
    ),
  );
  const client = await readKubeconfig(path);
  assert.deepEqual(client.tls, { insecureSkipVerify: false, ca: caPem, cert: "CLIENT CERT", key: "CLIENT KEY" });
  assert.deepEqual(client.auth, { kind: "bearer", token });
  assert.equal(client.url, "https://k8s.example:6443/gateway");

  // Read again at every call: a rotated token is used.
  await writeFile(join(dir, "token"), "rotated-token");
  assert.deepEqual((await readKubeconfig(path)).auth, { kind: "bearer", token: "rotated-token" });
});

test("client-certificate-data and client-key-data, username and password, insecure-skip-tls-verify, proxy-url", async (t) => {
  const path = await written(
    t,
    kubeconfig(
      { server: "https://k8s.example", "insecure-skip-tls-verify": true, "proxy-url": "http://proxy.example:3128" },
      { "client-certificate-data": b64("CERT"), "client-key-data": b64("KEY"), username: "admin", password },
    ),
  );
  assert.deepEqual(await readKubeconfig(path), {
    url: "https://k8s.example",
    auth: { kind: "basic", username: "admin", password },
    tls: { insecureSkipVerify: true, cert: "CERT", key: "KEY" },
    proxy: { kind: "url", url: "http://proxy.example:3128" },
    followRedirects: true,
    enableHttp2: true,
  });
});

test("a server without a scheme is https when TLS is configured, else http, as client-go takes it; a user without credentials sends none", async (t) => {
  const withTls = await written(t, kubeconfig({ server: "k8s.example:6443", "certificate-authority-data": b64(caPem) }, {}));
  assert.equal((await readKubeconfig(withTls)).url, "https://k8s.example:6443");
  const plain = await readKubeconfig(await written(t, kubeconfig({ server: "localhost:8080" }, {})));
  assert.equal(plain.url, "http://localhost:8080");
  assert.deepEqual(plain.auth, { kind: "none" });
});

test("credential plugins are refused, naming what to use instead", async (t) => {
  const exec = await kubeconfigError(
    await written(
      t,
      kubeconfig(
        { server: "https://eks.example" },
        { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token"] } },
      ),
    ),
  );
  assert.match(
    exec.message,
    /^kubeconfig .*config: user "admin" gets its credentials from an exec credential plugin, which the relay does not run: give the user a token, a tokenFile, or a client certificate/,
  );
  const provider = await kubeconfigError(
    await written(t, kubeconfig({ server: "https://gke.example" }, { "auth-provider": { name: "gcp", config: { "access-token": token } } })),
  );
  assert.match(provider.message, /user "admin" gets its credentials from an auth-provider plugin, which the relay does not run/);
});

test("an incomplete current context: each missing piece named", async (t) => {
  const cluster = { server: "https://k8s.example" };
  const user = { token };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ "current-context": undefined }, /: current-context is not set$/],
    [{ "current-context": "prod" }, /: current-context "prod" names no entry of contexts$/],
    [{ contexts: [{ name: "dev", context: { user: "admin" } }] }, /: context "dev" names no cluster$/],
    [{ contexts: [{ name: "dev", context: { cluster: "gone", user: "admin" } }] }, /: cluster "gone" of context "dev" is not among clusters$/],
    [{ contexts: [{ name: "dev", context: { cluster: "kind-dev" } }] }, /: context "dev" names no user$/],
    [{ contexts: [{ name: "dev", context: { cluster: "kind-dev", user: "gone" } }] }, /: user "gone" of context "dev" is not among users$/],
    [{ clusters: [{ name: "kind-dev", cluster: { "certificate-authority-data": b64(caPem) } }] }, /: cluster "kind-dev" has no server$/],
  ];
  for (const [overrides, expected] of cases) {
    const error = await kubeconfigError(await written(t, kubeconfig(cluster, user, overrides)));
    assert.match(error.message, expected);
  }
});

test("settings client-go refuses are refused, without quoting a secret", async (t) => {
  const cases: [Record<string, unknown>, Record<string, unknown>, RegExp][] = [
    [{}, { token, username: "admin", password }, /user "admin" sets both a token and username\/password: only one is allowed/],
    [{}, { "client-certificate-data": b64("CERT") }, /user "admin" sets client-certificate without client-key/],
    [{}, { "client-key-data": b64("KEY") }, /user "admin" sets client-key without client-certificate/],
    [{ "insecure-skip-tls-verify": true, "certificate-authority-data": b64(caPem) }, {}, /sets insecure-skip-tls-verify with a certificate authority/],
    [{ "certificate-authority": "/ca.crt", "certificate-authority-data": b64(caPem) }, {}, /sets both certificate-authority and certificate-authority-data/],
    [{ "certificate-authority-data": "not base64!" }, {}, /cluster "kind-dev": certificate-authority-data is not valid base64/],
    [{ "certificate-authority": "missing.crt" }, {}, /cannot read certificate-authority of cluster "kind-dev" ".*missing\.crt": ENOENT/],
    [{ "proxy-url": `socks5://user:${password}@proxy:1080` }, {}, /proxy-url scheme socks5: is not supported/],
    [{}, { token: 12345, password: [password] }, /user "admin": token is not a string/],
    [{}, { as: "system:admin", token }, /user "admin" impersonates \(as\), which the relay does not support/],
  ];
  for (const [cluster, user, expected] of cases) {
    const error = await kubeconfigError(await written(t, kubeconfig({ server: "https://k8s.example", ...cluster }, user)));
    assert.match(error.message, expected);
  }
});

test("a file that is not YAML, or missing, is named; the YAML error quotes no line of it", async (t) => {
  const broken = await kubeconfigError(await written(t, `users:\n- name: admin\n  user:\n    token: "${token}\n  bad: [\n`));
  assert.match(broken.message, /^kubeconfig .*: is not valid YAML at line \d+: /);
  assert.match((await kubeconfigError(await written(t, "current-context: *dev\n"))).message, /: is not valid YAML: Unresolved alias/);
  assert.match((await kubeconfigError(await written(t, "- just\n- a list\n"))).message, /is not a kubeconfig \(a YAML mapping\)$/);
  const missing = await kubeconfigError(join(await tempDir(t), "nowhere"));
  assert.match(missing.message, /nowhere: cannot be read: ENOENT$/);
});

test("base64 is strict, as Go decodes a []byte: padding required, nothing but the alphabet (line breaks aside)", () => {
  assert.equal(decodeBase64(b64("pässwörd"))?.toString(), "pässwörd");
  assert.equal(decodeBase64("YWJj\nZGVm")?.toString(), "abcdef");
  assert.equal(decodeBase64("")?.toString(), "");
  for (const invalid of ["YWJjZA", "YWJj ZA==", "YW*j", "YWJjZA="]) assert.equal(decodeBase64(invalid), undefined, invalid);
});
