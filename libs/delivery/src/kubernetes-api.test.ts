// readKubernetesObject against a fake Kubernetes API server on loopback (HTTPS with a CA made with
// openssl) that answers as the real one does: Secret and ConfigMap objects, Status bodies for 401,
// 403 and 404. Each client kind: the pod's service account, api_server, a kubeconfig file.
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { createServer, type ServerOptions } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { test, type TestContext } from "node:test";
import { stringify } from "yaml";
import type { KubernetesClientConfig, KubernetesHttpClient, KubernetesObjectRequest } from "@pyroscope-relay/config";
import { testPki } from "@pyroscope-relay/testing";
import { KubernetesReadError, readKubernetesObject, type KubernetesReadOptions } from "./kubernetes-api.js";

const pki = await testPki();
const ca = await pki.authority("kubernetes-ca");
const serverCert = await ca.issue("kube-apiserver", { names: ["127.0.0.1", "localhost", "::1"] });
const clientCert = await ca.issue("relay-client", { client: true });
const otherCa = await pki.authority("other-ca");

const token = "eyJhbGciOiJSUzI1NiJ9.sa-token-s3cr3t";
const b64 = (text: string) => Buffer.from(text).toString("base64");

interface Recorded {
  path: string;
  headers: IncomingHttpHeaders;
  /** The common name of the client certificate presented, if any. */
  clientCommonName: string | undefined;
}

interface FakeApiOptions {
  /** The Authorization the server accepts; others get a 401 Status. None: any request is authorized. */
  authorization?: string;
  /** Names answered 403, as a user without `get` on them. */
  forbidden?: string[];
  /** Require a client certificate signed by this CA. */
  clientCa?: string;
  host?: string;
  /** Answers a request itself when it returns true (a hang, a broken body). */
  respond?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

interface FakeApi {
  url: string;
  port: number;
  requests: Recorded[];
}

/** The objects the fake server holds, in namespace `monitoring`. */
const secrets: Record<string, Record<string, string> | undefined> = {
  creds: { password: "pässwörd ✓", username: "relay" },
  empty: undefined,
};
const configMaps: Record<string, Record<string, string>> = { settings: { "tenant.txt": "team-a", "limits.yaml": "max: 3\n" } };

async function fakeApi(t: TestContext, options: FakeApiOptions = {}): Promise<FakeApi> {
  const requests: Recorded[] = [];
  const tls: ServerOptions = { cert: serverCert.cert.pem, key: serverCert.key.pem };
  if (options.clientCa !== undefined) Object.assign(tls, { ca: options.clientCa, requestCert: true, rejectUnauthorized: true });
  const server = createServer(tls, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    requests.push({ path: req.url ?? "", headers: req.headers, clientCommonName: peer?.subject?.CN as string | undefined });
    if (options.respond?.(req, res)) return;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
    };
    const statusBody = (code: number, reason: string, message: string) => ({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message,
      reason,
      ...(code === 401 ? {} : { details: { kind: "secrets" } }),
      code,
    });
    if (options.authorization !== undefined && req.headers.authorization !== options.authorization) {
      send(401, statusBody(401, "Unauthorized", "Unauthorized"));
      return;
    }
    const match = /\/api\/v1\/namespaces\/([^/]+)\/(secrets|configmaps)\/([^/?]+)$/.exec(req.url ?? "");
    const [namespace, resource, name] = match === null ? [] : [match[1]!, match[2]!, decodeURIComponent(match[3]!)];
    if (resource !== undefined && options.forbidden?.includes(name!)) {
      const message = `${resource} "${name}" is forbidden: User "system:serviceaccount:monitoring:alloy" cannot get resource "${resource}" in API group "" in the namespace "${namespace}"`;
      send(403, statusBody(403, "Forbidden", message));
      return;
    }
    const metadata = { name, namespace, uid: "6f1c7f53-4a4e-4cf4-9b8e-1d5c5f3a6e20", resourceVersion: "4242", creationTimestamp: "2024-05-01T10:00:00Z" };
    if (namespace === "monitoring" && resource === "secrets" && name! in secrets) {
      const data = secrets[name!];
      const encoded = data === undefined ? {} : { data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, b64(value)])) };
      send(200, { kind: "Secret", apiVersion: "v1", metadata, ...encoded, type: "Opaque" });
      return;
    }
    if (namespace === "monitoring" && resource === "configmaps" && name! in configMaps) {
      send(200, { kind: "ConfigMap", apiVersion: "v1", metadata, data: configMaps[name!], binaryData: { "logo.png": b64("\x89PNG") } });
      return;
    }
    send(404, statusBody(404, "NotFound", `${resource ?? "the server could not find the requested resource"} "${name}" not found`));
  });
  server.listen(0, options.host ?? "127.0.0.1");
  await once(server, "listening");
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host?.includes(":") ? `[${options.host}]` : (options.host ?? "127.0.0.1");
  return { url: `https://${host}:${port}`, port, requests };
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "relay-kubernetes-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A service account directory as the kubelet mounts it: token and ca.crt. */
async function serviceAccountDir(t: TestContext, files: { token?: string; ca?: string } = { token, ca: ca.cert.pem }): Promise<string> {
  const dir = await tempDir(t);
  if (files.token !== undefined) await writeFile(join(dir, "token"), files.token);
  if (files.ca !== undefined) await writeFile(join(dir, "ca.crt"), files.ca);
  return dir;
}

function objectRequest(client: KubernetesClientConfig, overrides: Partial<KubernetesObjectRequest> = {}): KubernetesObjectRequest {
  return { kind: "secret", namespace: "monitoring", name: "creds", client, timeoutMs: 5000, ...overrides };
}

function apiServer(url: string, overrides: Partial<KubernetesHttpClient> = {}): KubernetesClientConfig {
  return { kind: "api-server", http: { url, auth: { kind: "bearer", token }, tls: { ca: ca.cert.pem, insecureSkipVerify: false }, ...overrides } };
}

/** A kubeconfig file with one context; its files are named relative to `dir`. */
async function kubeconfigFile(dir: string, cluster: Record<string, unknown>, user: Record<string, unknown>): Promise<KubernetesClientConfig> {
  const path = join(dir, "config");
  await writeFile(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "test", cluster }],
      users: [{ name: "relay", user }],
      contexts: [{ name: "test", context: { cluster: "test", user: "relay", namespace: "elsewhere" } }],
      "current-context": "test",
    }),
  );
  return { kind: "kubeconfig", path };
}

/** The error a read fails with; its message never holds the token. */
async function readError(request: KubernetesObjectRequest, options: KubernetesReadOptions = { env: {} }): Promise<KubernetesReadError> {
  const error = await readKubernetesObject(request, options).then(
    () => assert.fail("expected the read to fail"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof KubernetesReadError, String(error));
  assert.ok(!error.message.includes(token), error.message);
  return error;
}

test("in-cluster: the API server of KUBERNETES_SERVICE_HOST and _PORT, the service account's CA, and its token read again at every read", async (t) => {
  const api = await fakeApi(t);
  const dir = await serviceAccountDir(t);
  const options = { env: { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(api.port) }, serviceAccountDir: dir };
  assert.deepEqual(await readKubernetesObject(objectRequest({ kind: "in-cluster" }), options), { password: "pässwörd ✓", username: "relay" });
  const [first] = api.requests;
  assert.equal(first?.path, "/api/v1/namespaces/monitoring/secrets/creds");
  assert.equal(first?.headers.authorization, `Bearer ${token}`);
  assert.equal(first?.headers.accept, "application/json");
  assert.equal(first?.headers["user-agent"], "pyroscope-relay");

  // The kubelet rotates a bound token by replacing the file.
  await writeFile(join(dir, "token"), "rotated-token\n");
  await readKubernetesObject(objectRequest({ kind: "in-cluster" }), options);
  assert.equal(api.requests.at(-1)?.headers.authorization, "Bearer rotated-token");
});

test("in-cluster: an IPv6 KUBERNETES_SERVICE_HOST goes in brackets", async (t) => {
  const api = await fakeApi(t, { host: "::1" });
  const options = { env: { KUBERNETES_SERVICE_HOST: "::1", KUBERNETES_SERVICE_PORT: String(api.port) }, serviceAccountDir: await serviceAccountDir(t) };
  assert.deepEqual(await readKubernetesObject(objectRequest({ kind: "in-cluster" }, { kind: "configmap", name: "settings" }), options), configMaps.settings);
});

test("in-cluster outside a pod: the missing environment named, and what to give instead; an unreadable token named", async (t) => {
  const expected =
    "secret monitoring/creds: not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set; give the component a client block with api_server or kubeconfig_file";
  const dir = await serviceAccountDir(t);
  for (const env of [{}, { KUBERNETES_SERVICE_HOST: "10.96.0.1" }, { KUBERNETES_SERVICE_PORT: "443" }]) {
    const error = await readError(objectRequest({ kind: "in-cluster" }), { env, serviceAccountDir: dir });
    assert.equal(error.message, expected);
    assert.equal(error.object, "secret monitoring/creds");
    assert.equal(error.status, undefined);
  }
  const noToken = await serviceAccountDir(t, { ca: ca.cert.pem });
  const error = await readError(objectRequest({ kind: "in-cluster" }), {
    env: { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: "1" },
    serviceAccountDir: noToken,
  });
  assert.equal(error.message, `secret monitoring/creds: cannot read the service account token ${JSON.stringify(join(noToken, "token"))}: ENOENT`);
});

test("api_server with a bearer token, below the URL's path, with http_headers; the object's path segments encoded", async (t) => {
  const api = await fakeApi(t, { authorization: `Bearer ${token}` });
  const client = apiServer(`${api.url}/gateway/`, { httpHeaders: { "X-Cluster": ["prod"] } });
  assert.deepEqual(await readKubernetesObject(objectRequest(client), { env: {} }), secrets.creds);
  assert.equal(api.requests[0]?.path, "/gateway/api/v1/namespaces/monitoring/secrets/creds");
  assert.equal(api.requests[0]?.headers["x-cluster"], "prod");

  await readError(objectRequest(client, { namespace: "a b", name: "x/y" }));
  assert.equal(api.requests.at(-1)?.path, "/gateway/api/v1/namespaces/a%20b/secrets/x%2Fy");
});

test("api_server with basic auth; a refused one: 401 with its Status message", async (t) => {
  const api = await fakeApi(t, { authorization: `Basic ${b64("relay:hunter2")}` });
  const basic = apiServer(api.url, { auth: { kind: "basic", username: "relay", password: "hunter2" } });
  assert.deepEqual(await readKubernetesObject(objectRequest(basic), { env: {} }), secrets.creds);
  assert.equal(api.requests[0]?.headers.authorization, `Basic ${b64("relay:hunter2")}`);

  const error = await readError(objectRequest(apiServer(api.url)));
  assert.equal(
    error.message,
    "secret monitoring/creds: the Kubernetes API answered 401 Unauthorized: Unauthorized; it does not accept the credentials (token, client certificate or username and password)",
  );
  assert.equal(error.status, 401);
});

test("kubeconfig: its current context's token and certificate-authority-data; the context's namespace not used", async (t) => {
  const api = await fakeApi(t, { authorization: `Bearer ${token}` });
  const client = await kubeconfigFile(await tempDir(t), { server: api.url, "certificate-authority-data": b64(ca.cert.pem) }, { token });
  assert.deepEqual(await readKubernetesObject(objectRequest(client), { env: {} }), secrets.creds);
  assert.equal(api.requests[0]?.path, "/api/v1/namespaces/monitoring/secrets/creds");
});

test("kubeconfig: a certificate-authority and a tokenFile relative to its directory, both read again at every read", async (t) => {
  const api = await fakeApi(t);
  const dir = await tempDir(t);
  await writeFile(join(dir, "ca.crt"), ca.cert.pem);
  await writeFile(join(dir, "token"), `${token}\n`);
  const client = await kubeconfigFile(dir, { server: api.url, "certificate-authority": "ca.crt" }, { tokenFile: "token" });
  await readKubernetesObject(objectRequest(client), { env: {} });
  assert.equal(api.requests[0]?.headers.authorization, `Bearer ${token}`);

  await writeFile(join(dir, "token"), "next-token");
  await readKubernetesObject(objectRequest(client), { env: {} });
  assert.equal(api.requests.at(-1)?.headers.authorization, "Bearer next-token");

  // Another CA now: the server's certificate is no longer trusted.
  await writeFile(join(dir, "ca.crt"), otherCa.cert.pem);
  const error = await readError(objectRequest(client));
  assert.match(error.message, new RegExp(`^secret monitoring/creds: cannot reach the Kubernetes API at ${api.url.replace(/[.[\]]/g, "\\$&")}: .*certificate`));
});

test("kubeconfig: a client certificate, for a server that requires one", async (t) => {
  const api = await fakeApi(t, { clientCa: ca.cert.pem });
  const dir = await tempDir(t);
  const cluster = { server: api.url, "certificate-authority": ca.cert.file };
  const withCert = await kubeconfigFile(dir, cluster, { "client-certificate": clientCert.cert.file, "client-key-data": b64(clientCert.key.pem) });
  assert.deepEqual(await readKubernetesObject(objectRequest(withCert, { kind: "configmap", name: "settings" }), { env: {} }), configMaps.settings);
  assert.equal(api.requests[0]?.clientCommonName, "relay-client");
  assert.equal(api.requests[0]?.headers.authorization, undefined);

  const without = await kubeconfigFile(dir, cluster, {});
  assert.match((await readError(objectRequest(without))).message, /^secret monitoring\/creds: cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:\d+: /);
  assert.equal(api.requests.length, 1);
});

test("kubeconfig: an exec user refused before any request, naming what to use instead", async (t) => {
  const api = await fakeApi(t);
  const client = await kubeconfigFile(
    await tempDir(t),
    { server: api.url, "certificate-authority": ca.cert.file },
    { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token"] } },
  );
  const error = await readError(objectRequest(client));
  assert.match(
    error.message,
    /^secret monitoring\/creds: kubeconfig .*config: user "relay" gets its credentials from an exec credential plugin, which the relay does not run: give the user a token, a tokenFile, or a client certificate/,
  );
  assert.equal(api.requests.length, 0);
});

test("a ConfigMap's data as it is, binaryData ignored; a Secret's decoded to UTF-8; an object without data is {}", async (t) => {
  const api = await fakeApi(t);
  const read = (name: string, kind: "secret" | "configmap") => readKubernetesObject(objectRequest(apiServer(api.url), { kind, name }), { env: {} });
  assert.deepEqual(await read("settings", "configmap"), { "tenant.txt": "team-a", "limits.yaml": "max: 3\n" });
  assert.equal(api.requests[0]?.path, "/api/v1/namespaces/monitoring/configmaps/settings");
  assert.deepEqual(await read("creds", "secret"), { password: "pässwörd ✓", username: "relay" });
  assert.deepEqual(await read("empty", "secret"), {});
});

test("answers that are not the object: not JSON, another kind, a Secret value that is not base64", async (t) => {
  const bodies: Record<string, string> = {
    html: "<html>login</html>",
    status: JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Success" }),
    bad: JSON.stringify({ kind: "Secret", apiVersion: "v1", data: { password: "not base64!" } }),
    number: JSON.stringify({ kind: "Secret", apiVersion: "v1", data: { port: 8080 } }),
  };
  const api = await fakeApi(t, {
    respond: (req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" }).end(bodies[req.url!.split("/").at(-1)!]);
      return true;
    },
  });
  const message = async (name: string) => (await readError(objectRequest(apiServer(api.url), { name }))).message;
  assert.equal(await message("html"), "secret monitoring/html: the Kubernetes API answered 200 with something that is not JSON");
  assert.equal(await message("status"), "secret monitoring/status: the Kubernetes API answered 200 with a Status, not a Secret");
  assert.equal(await message("bad"), 'secret monitoring/bad: its data key "password" is not valid base64');
  assert.equal(await message("number"), 'secret monitoring/number: its data key "port" is not a string');
});

test("404: not found", async (t) => {
  const api = await fakeApi(t);
  const error = await readError(objectRequest(apiServer(api.url), { name: "missing" }));
  assert.equal(error.message, "secret monitoring/missing not found");
  assert.equal(error.status, 404);
  const configMap = await readError(objectRequest(apiServer(api.url), { kind: "configmap", name: "creds" }));
  assert.equal(configMap.message, "configmap monitoring/creds not found");

  // A 404 that is not a Kubernetes Status: likely not the API server at all.
  const other = await fakeApi(t, { respond: (_req, res) => Boolean(res.writeHead(404).end("404 page not found")) });
  assert.equal(
    (await readError(objectRequest(apiServer(other.url)))).message,
    "secret monitoring/creds not found (the answer is not a Kubernetes Status: is the server a Kubernetes API server?)",
  );
});

test("403: the Status message quoted, and the permission the service account needs", async (t) => {
  const api = await fakeApi(t, { forbidden: ["creds"] });
  const error = await readError(objectRequest(apiServer(api.url)));
  assert.equal(
    error.message,
    'secret monitoring/creds: the Kubernetes API answered 403 Forbidden: secrets "creds" is forbidden: User "system:serviceaccount:monitoring:alloy" cannot get resource "secrets" in API group "" in the namespace "monitoring"; the service account (or user) needs "get" on secrets in namespace monitoring (a Role and RoleBinding)',
  );
  assert.equal(error.status, 403);
  const configMap = await readError(objectRequest(apiServer(api.url), { kind: "configmap", name: "creds" }));
  assert.match(configMap.message, /needs "get" on configmaps in namespace monitoring/);
});

test("other statuses: the status and the Status message; a Status echoing the credentials has them blanked", async (t) => {
  const api = await fakeApi(t, {
    respond: (req, res) => {
      const message = `etcdserver: request timed out (request had Authorization: ${req.headers.authorization})`;
      res
        .writeHead(503, { "Content-Type": "application/json" })
        .end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message, code: 503 }));
      return true;
    },
  });
  const error = await readError(objectRequest(apiServer(api.url)));
  assert.equal(
    error.message,
    "secret monitoring/creds: the Kubernetes API answered 503 Service Unavailable: etcdserver: request timed out (request had Authorization: Bearer <secret>)",
  );
  assert.equal(error.status, 503);
});

test("poll_timeout bounds the read: a server that never answers", async (t) => {
  const api = await fakeApi(t, { respond: () => true });
  const started = Date.now();
  const error = await readError(objectRequest(apiServer(api.url), { timeoutMs: 200 }));
  assert.equal(error.message, "secret monitoring/creds: no answer within 200 ms (poll_timeout)");
  assert.ok(error.cause !== undefined);
  assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  assert.equal(api.requests.length, 1);
});

test("the caller's signal cancels the read", async (t) => {
  const api = await fakeApi(t, { respond: () => true });
  const controller = new AbortController();
  const reading = readError(objectRequest(apiServer(api.url)), { env: {}, signal: controller.signal });
  while (api.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  controller.abort();
  assert.equal((await reading).message, "secret monitoring/creds: the read was cancelled");
});

test("a server nobody listens on: the error names the API server and the cause", async () => {
  const error = await readError(objectRequest(apiServer("https://127.0.0.1:1")));
  assert.match(error.message, /^secret monitoring\/creds: cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
  assert.ok(error.cause instanceof Error);
});
