import { test } from "node:test";
import assert from "node:assert/strict";
import type { Diagnostic } from "./diagnostic.js";
import { buildTargets, type Located } from "./targets.js";
import { ValueLocations } from "./value-locations.js";
import { writeSchema, type WriteComponent } from "./write-schema.js";

const schema = writeSchema(() => assert.fail("no files here"));

function write(label: string, data: unknown): Located<WriteComponent> {
  const pos = { line: 1, col: 1 };
  return { label, file: "f", pos, value: schema.parse(data), locations: new ValueLocations(pos) };
}

test("names a single endpoint's target after its component", () => {
  const diagnostics: Diagnostic[] = [];
  const targets = buildTargets([write("prod", { endpoint: [{ url: "http://a", name: "ignored" }] })], diagnostics);
  assert.deepEqual(
    targets.map((t) => [t.name, t.writeLabel, t.endpointName]),
    [["prod", "prod", "ignored"]],
  );
  assert.deepEqual(diagnostics, []);
});

test("names several endpoints by name, or by index when unnamed", () => {
  const targets = buildTargets([write("prod", { endpoint: [{ url: "http://a", name: "eu" }, { url: "http://b" }, { url: "http://c", name: "us" }] })], []);
  assert.deepEqual(
    targets.map((t) => t.name),
    ["prod/eu", "prod/1", "prod/us"],
  );
});

test("maps auth, TLS and external labels, each target with its own copies", () => {
  const targets = buildTargets(
    [
      write("w", {
        external_labels: { env: "prod" },
        endpoint: [
          { url: "http://a", basic_auth: [{ username: "u" }], tls_config: [{ server_name: "s" }] },
          { url: "http://b", bearer_token: "t", headers: { "X-Scope-OrgID": "1" } },
        ],
      }),
    ],
    [],
  );
  const [a, b] = targets;
  assert.deepEqual(a?.auth, { kind: "basic", username: "u", password: "" });
  assert.deepEqual(a?.tls, { insecureSkipVerify: false, serverName: "s" });
  assert.deepEqual(b?.auth, { kind: "bearer", token: "t" });
  assert.equal("tls" in (b ?? {}), false);
  assert.deepEqual(b?.headers, { "X-Scope-OrgID": "1" });
  assert.deepEqual(a?.externalLabels, { env: "prod" });
  assert.notEqual(a?.externalLabels, b?.externalLabels);
});

test("reports a duplicate target name and leaves it out", () => {
  const diagnostics: Diagnostic[] = [];
  const targets = buildTargets(
    [
      write("w", {
        endpoint: [
          { url: "http://a", name: "x" },
          { url: "http://b", name: "x" },
        ],
      }),
    ],
    diagnostics,
  );
  assert.equal(targets.length, 1);
  assert.deepEqual(
    diagnostics.map((d) => d.message),
    ['duplicate target name "w/x"; give each endpoint of pyroscope.write "w" a different name'],
  );
});

function target(endpoint: Record<string, unknown>, files: Record<string, string> = {}) {
  const withFiles = writeSchema((path) => files[path] ?? assert.fail(`unexpected read of ${path}`));
  const value = withFiles.parse({ endpoint: [{ url: "https://p", ...endpoint }] });
  const [built] = buildTargets([{ label: "w", file: "f", pos: { line: 1, col: 1 }, value, locations: new ValueLocations({ line: 1, col: 1 }) }], []);
  return built!;
}

test("keeps the file each secret was read from, so the writer can read it again", () => {
  const files = { "/pw": "pw\n", "/token": "tok\n", "/creds": "creds\n", "/client": "client\n" };
  assert.deepEqual(target({ basic_auth: [{ username: "u", password_file: "/pw" }] }, files).auth, {
    kind: "basic",
    username: "u",
    password: "pw",
    passwordFile: "/pw",
  });
  assert.deepEqual(target({ bearer_token_file: "/token" }, files).auth, { kind: "bearer", token: "tok", tokenFile: "/token" });
  assert.deepEqual(target({ authorization: [{ type: "Token", credentials_file: "/creds" }] }, files).auth, {
    kind: "authorization",
    type: "Token",
    credentials: "creds",
    credentialsFile: "/creds",
  });
  assert.deepEqual(target({ authorization: [{ credentials: "inline" }] }).auth, { kind: "authorization", type: "Bearer", credentials: "inline" });
  // Empty strings (unset env()s) are unset: the file's password, and no bearer token at all.
  assert.deepEqual(target({ basic_auth: [{ username: "u", password: "", password_file: "/pw" }] }, files).auth, {
    kind: "basic",
    username: "u",
    password: "pw",
    passwordFile: "/pw",
  });
  assert.deepEqual(target({ bearer_token: "" }).auth, { kind: "none" });
  assert.deepEqual(target({ bearer_token_file: "" }).auth, { kind: "none" });
});

test("maps oauth2 with its own TLS and proxy", () => {
  const auth = target(
    {
      oauth2: [
        {
          client_id: "relay",
          client_secret: "",
          client_secret_file: "/client",
          scopes: ["write"],
          token_url: "https://auth/token",
          endpoint_params: { audience: "pyroscope" },
          tls_config: [{ insecure_skip_verify: true }],
          proxy_url: "http://proxy:3128",
        },
      ],
    },
    { "/client": "client\n" },
  ).auth;
  assert.deepEqual(auth, {
    kind: "oauth2",
    clientId: "relay",
    clientSecret: "client",
    clientSecretFile: "/client",
    tokenUrl: "https://auth/token",
    scopes: ["write"],
    endpointParams: { audience: "pyroscope" },
    tls: { insecureSkipVerify: true },
    proxy: { kind: "url", url: "http://proxy:3128" },
  });
});

test("maps TLS PEM values and files, the minimum version and the server name", () => {
  const files = { "/ca": "CA\n", "/key": "KEY\n" };
  assert.deepEqual(target({ tls_config: [{ ca_file: "/ca", cert_pem: "CERT", key_file: "/key", min_version: "TLS13", server_name: "s" }] }, files).tls, {
    ca: "CA\n",
    caFile: "/ca",
    cert: "CERT",
    key: "KEY\n",
    keyFile: "/key",
    insecureSkipVerify: false,
    serverName: "s",
    minVersion: "TLS13",
  });
});

test("maps http_headers, the proxy, and only the redirect and HTTP/2 settings that differ from Alloy's defaults", () => {
  const defaults = target({});
  for (const field of ["httpHeaders", "proxy", "followRedirects", "enableHttp2"]) assert.equal(field in defaults, false, field);

  const configured = target({
    http_headers: { "X-A": ["1", "2"] },
    proxy_url: "http://proxy:3128",
    no_proxy: "10.0.0.0/8",
    proxy_connect_header: { "X-P": ["v"] },
    follow_redirects: false,
    enable_http2: false,
  });
  assert.deepEqual(configured.httpHeaders, { "X-A": ["1", "2"] });
  assert.deepEqual(configured.proxy, { kind: "url", url: "http://proxy:3128", noProxy: "10.0.0.0/8", connectHeaders: { "X-P": ["v"] } });
  assert.equal(configured.followRedirects, false);
  assert.equal(configured.enableHttp2, false);

  assert.deepEqual(target({ proxy_from_environment: true }).proxy, { kind: "environment" });
  // Unset through env(): no proxy at all.
  assert.equal(target({ proxy_url: "", no_proxy: "" }).proxy, undefined);
});
