import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "./config-error.js";
import { parseConfig } from "./parse-config.js";
import { expectedHttp2Defaults } from "./http2-defaults-fixture.js";

const writeLocal = 'pyroscope.write "local" {\n  endpoint {\n    url = "http://localhost:4040"\n  }\n}\n';
const receiveLocal = 'pyroscope.receive_http "in" {\n  forward_to = [pyroscope.write.local.receiver]\n}\n';

function configErrors(source: string, options: { env?: Record<string, string>; files?: Record<string, string> } = {}): string[] {
  const files = options.files ?? {};
  try {
    parseConfig(source, "relay.alloy", options.env ?? {}, (path) => {
      const contents = files[path];
      if (contents === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
      return contents;
    });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message.split("\n");
  }
  assert.fail("expected a ConfigError");
}

test("applies Alloy's defaults to a minimal configuration", () => {
  const config = parseConfig(receiveLocal + writeLocal, "relay.alloy", {});
  assert.deepEqual(config, {
    receivers: [
      {
        label: "in",
        listenAddress: "",
        listenPort: 8080,
        connLimit: 100,
        readTimeoutMs: 30_000,
        writeTimeoutMs: 30_000,
        idleTimeoutMs: 120_000,
        forwardTo: ["local"],
        targets: ["local"],
        http2: expectedHttp2Defaults(120_000),
        gracefulShutdownTimeoutMs: 30_000,
        debugInfoUploadTimeoutMs: 120_000,
        grpcBlockIgnored: false,
        http2DisabledIgnored: false,
      },
    ],
    targets: [
      {
        name: "local",
        writeLabel: "local",
        endpointName: "",
        url: "http://localhost:4040",
        remoteTimeoutMs: 10_000,
        debugInfoUploadTimeoutMs: 120_000,
        headers: {},
        minBackoffMs: 500,
        maxBackoffMs: 300_000,
        maxBackoffRetries: 10,
        retryOnHttp429: true,
        auth: { kind: "none" },
        externalLabels: {},
        relabel: [],
      },
    ],
    localFiles: [],
    kubernetesObjects: [],
    ignored: [],
    warnings: [],
  });
});

test("reads every attribute, with env() values and *_file contents", () => {
  const source = `
pyroscope.receive_http "in" {
  http {
    listen_address       = "0.0.0.0"
    listen_port          = "9999" // Alloy converts numeric strings
    conn_limit           = 16
    server_read_timeout  = "1m30s"
    server_write_timeout = "1.5s"
    server_idle_timeout  = "2h"
  }
  forward_to = [pyroscope.write.prod.receiver, pyroscope.write.staging.receiver, pyroscope.write.prod.receiver]
}

pyroscope.write "prod" {
  external_labels = { env = "prod", "k8s.cluster" = 7 }
  endpoint {
    name                = "eu"
    url                 = "https://eu.example:4040/base"
    remote_timeout      = "3s"
    debug_info_upload_timeout = "5m"
    headers             = { "X-Scope-OrgID" = env("TENANT") }
    min_backoff_period  = "100ms"
    max_backoff_period  = "1m"
    max_backoff_retries = 0
    retry_on_http_429   = false
    basic_auth {
      username      = "user"
      password_file = "/secrets/password"
    }
    tls_config {
      ca_file              = "/tls/ca.pem"
      cert_file            = "/tls/cert.pem"
      key_file             = "/tls/key.pem"
      insecure_skip_verify = true
      server_name          = "pyroscope.example"
    }
  }
  endpoint {
    url          = "http://us.example:4040"
    bearer_token = sys.env("TOKEN")
  }
  endpoint {
    url               = "http://backup.example:4040"
    bearer_token_file = "/secrets/token"
  }
}

pyroscope.write "staging" {
  endpoint {
    url = \`http://staging:4040\`
    basic_auth {
      username = "u"
      password = "p"
    }
  }
}
`;
  const files: Record<string, string> = {
    "/secrets/password": "s3cret\n",
    "/secrets/token": "t0ken\r\n",
    "/tls/ca.pem": "CA\n",
    "/tls/cert.pem": "CERT\n",
    "/tls/key.pem": "KEY\n",
  };
  const config = parseConfig(source, "relay.alloy", { TENANT: "squad-1", TOKEN: "abc" }, (path) => files[path]!);
  assert.deepEqual(config.receivers, [
    {
      label: "in",
      listenAddress: "0.0.0.0",
      listenPort: 9999,
      connLimit: 16,
      readTimeoutMs: 90_000,
      writeTimeoutMs: 1500,
      idleTimeoutMs: 7_200_000,
      forwardTo: ["prod", "staging"],
      targets: ["prod/eu", "prod/1", "prod/2", "staging"],
      http2: expectedHttp2Defaults(7_200_000),
      gracefulShutdownTimeoutMs: 30_000,
      debugInfoUploadTimeoutMs: 120_000,
      grpcBlockIgnored: false,
      http2DisabledIgnored: false,
    },
  ]);
  const [eu, us, backup, staging] = config.targets;
  assert.deepEqual(eu, {
    name: "prod/eu",
    writeLabel: "prod",
    endpointName: "eu",
    url: "https://eu.example:4040/base",
    remoteTimeoutMs: 3000,
    debugInfoUploadTimeoutMs: 300_000,
    headers: { "X-Scope-OrgID": "squad-1" },
    minBackoffMs: 100,
    maxBackoffMs: 60_000,
    maxBackoffRetries: 0,
    retryOnHttp429: false,
    auth: { kind: "basic", username: "user", password: "s3cret", passwordFile: "/secrets/password" },
    tls: {
      ca: "CA\n",
      cert: "CERT\n",
      key: "KEY\n",
      caFile: "/tls/ca.pem",
      certFile: "/tls/cert.pem",
      keyFile: "/tls/key.pem",
      insecureSkipVerify: true,
      serverName: "pyroscope.example",
    },
    externalLabels: { env: "prod", "k8s.cluster": "7" },
    relabel: [],
  });
  assert.equal(us?.name, "prod/1");
  assert.deepEqual(us?.auth, { kind: "bearer", token: "abc" });
  assert.equal(us?.tls, undefined);
  assert.equal(backup?.name, "prod/2");
  assert.deepEqual(backup?.auth, { kind: "bearer", token: "t0ken", tokenFile: "/secrets/token" });
  assert.equal(staging?.name, "staging");
  assert.equal(staging?.url, "http://staging:4040");
  assert.deepEqual(staging?.auth, { kind: "basic", username: "u", password: "p" });
});

test("an unset environment variable reads as an empty string, which sets no bearer token (as in Alloy)", () => {
  const source = receiveLocal + writeLocal.replace('url = "http://localhost:4040"', 'url = "http://localhost:4040"\n    bearer_token = env("UNSET")');
  assert.deepEqual(parseConfig(source, "relay.alloy", {}).targets[0]?.auth, { kind: "none" });
  const header = receiveLocal + writeLocal.replace('url = "http://localhost:4040"', 'url = "http://localhost:4040"\n    headers = { "X-Env" = env("UNSET") }');
  assert.deepEqual(parseConfig(header, "relay.alloy", {}).targets[0]?.headers, { "X-Env": "" });
});

test("a tls_config block without files only sets its flags", () => {
  const source = receiveLocal + writeLocal.replace('url = "http://localhost:4040"', 'url = "https://x"\n    tls_config {\n    }');
  assert.deepEqual(parseConfig(source, "relay.alloy", {}).targets[0]?.tls, { insecureSkipVerify: false });
});

test("a write component nothing forwards to is fine", () => {
  const config = parseConfig(receiveLocal + writeLocal + writeLocal.replace('"local"', '"idle"'), "relay.alloy", {});
  assert.deepEqual(
    config.targets.map((t) => t.name),
    ["local", "idle"],
  );
});

test("reports a syntax error with its position", () => {
  assert.deepEqual(configErrors('pyroscope.write "a" {\n  endpoint {\n    url = "x\n'), ["relay.alloy:3:11: unterminated string"]);
});

test("runs a whole Alloy configuration: other blocks are ignored, not evaluated, and listed", () => {
  const source = `logging {
  level = "info"
}
discovery.kubernetes "pods" {
  role = "pod"
}
pyroscope.scrape "default" {
  targets    = discovery.kubernetes.pods.targets
  forward_to = [pyroscope.write.local.receiver]
}
${receiveLocal}${writeLocal}`;
  const config = parseConfig(source, "relay.alloy", {});
  assert.deepEqual(config.ignored, [
    { name: "logging", file: "relay.alloy", line: 1, col: 1 },
    { name: "discovery.kubernetes", label: "pods", file: "relay.alloy", line: 4, col: 1 },
    { name: "pyroscope.scrape", label: "default", file: "relay.alloy", line: 7, col: 1 },
  ]);
  assert.deepEqual(
    config.receivers.map((r) => r.targets),
    [["local"]],
  );
});

test('a pyroscope.<name> may be a custom component of a module imported as "pyroscope", which Alloy looks up first', () => {
  const source = `import.file "pyroscope" {\n  filename = "modules"\n}\npyroscope.kubernetes "targets" {}\n${receiveLocal}${writeLocal}`;
  const config = parseConfig(source, "relay.alloy", {});
  assert.deepEqual(
    config.ignored.map((block) => block.name),
    ["import.file", "pyroscope.kubernetes"],
  );
});

test("refuses a pyroscope component Alloy does not have, as Alloy does: a misspelt receiver is not ignored", () => {
  const source = `${receiveLocal}${writeLocal}pyroscope.recieve_http "other" {\n  forward_to = []\n}\n`;
  assert.deepEqual(configErrors(source), [
    "relay.alloy:9:1: unknown component pyroscope.recieve_http: Alloy's pyroscope components are pyroscope.ebpf, pyroscope.enrich, pyroscope.java, pyroscope.receive_http, pyroscope.relabel, pyroscope.scrape, pyroscope.write",
  ]);
});

test("an ignored block must still parse", () => {
  assert.deepEqual(configErrors(`${receiveLocal}${writeLocal}prometheus.scrape "x" {\n  targets = [\n}\n`), ['relay.alloy:11:1: expected a value, got "}"']);
});

test("reports forward_to naming a component the relay does not run", () => {
  const source =
    receiveLocal.replace("pyroscope.write.local.receiver", "pyroscope.enrich.filter.receiver") +
    'pyroscope.enrich "filter" {\n  forward_to = [pyroscope.write.local.receiver]\n}\n' +
    writeLocal;
  assert.deepEqual(configErrors(source), [
    'relay.alloy:2:17: forward_to[0]: pyroscope.enrich.filter.receiver is not a pyroscope.write or pyroscope.relabel receiver; the relay does not run pyroscope.enrich "filter", only pyroscope.receive_http, pyroscope.relabel and pyroscope.write',
  ]);
});

test("reports an export of a component the relay does not evaluate used as a value", () => {
  const source = receiveLocal + writeLocal.replace('url = "http://localhost:4040"', "url = remote.http.endpoint.content");
  assert.deepEqual(configErrors(source), [
    "relay.alloy:6:11: url: expected string, got reference remote.http.endpoint.content, which cannot be evaluated: the relay evaluates no other components than local.file, remote.kubernetes.secret and remote.kubernetes.configmap, and refers to pyroscope.write and pyroscope.relabel receivers only in forward_to (a value from the environment: sys.env)",
  ]);
});

test("evaluates expressions and standard library functions in the relay's components", () => {
  const source =
    receiveLocal.replace("  forward_to", "  http {\n    listen_port = 4000 + 40\n  }\n  forward_to") +
    writeLocal.replace(
      'url = "http://localhost:4040"',
      'url = string.format("http://%s:%d", coalesce(sys.env("HOST"), "localhost"), 4040)\n    headers = { "X-Scope-OrgID" = string.to_lower(env("TENANT")) }',
    );
  const config = parseConfig(source, "relay.alloy", { TENANT: "Team-A" });
  assert.equal(config.receivers[0]?.listenPort, 4040);
  assert.equal(config.targets[0]?.url, "http://localhost:4040");
  assert.deepEqual(config.targets[0]?.headers, { "X-Scope-OrgID": "team-a" });
});

test("reports an unknown nested block and an unknown attribute at their names", () => {
  const source = receiveLocal.replace("  forward_to", "  https {\n  }\n  forward_to") + writeLocal.replace("    url", "    timeout = 1\n    url");
  assert.deepEqual(configErrors(source), ['relay.alloy:2:3: unknown block "https"', 'relay.alloy:8:5: unknown attribute "timeout"']);
});

test("reports an attribute outside any component", () => {
  assert.deepEqual(configErrors(`listen_port = 1\n${receiveLocal}${writeLocal}`), [
    'relay.alloy:1:1: unexpected attribute "listen_port" outside a component block',
  ]);
});

test("reports a wrong type at the value", () => {
  const source = `pyroscope.receive_http "in" {\n  http {\n    listen_port = "x"\n  }\n  forward_to = [pyroscope.write.local.receiver]\n}\n${writeLocal}`;
  assert.deepEqual(configErrors(source), ["relay.alloy:3:19: listen_port: expected number, got string"]);
});

test("names nested values in type errors", () => {
  const source =
    receiveLocal.replace("[pyroscope.write.local.receiver]", '[pyroscope.write.local.receiver, "local"]') +
    writeLocal.replace("    url", '    headers = { "X-Org" = true, plain = [] }\n    retry_on_http_429 = "yes"\n    url');
  assert.deepEqual(configErrors(source), [
    "relay.alloy:2:49: forward_to[1]: expected a reference such as pyroscope.write.default.receiver, got string",
    'relay.alloy:6:27: headers["X-Org"]: expected string, got bool',
    "relay.alloy:6:41: headers.plain: expected string, got list",
    "relay.alloy:7:25: retry_on_http_429: expected bool, got string",
  ]);
});

test("reports a block where an attribute belongs, and the reverse", () => {
  const source = `pyroscope.receive_http "in" {\n  http = { listen_port = 1 }\n  forward_to {\n  }\n}\n${writeLocal.replace("    url", "    headers {\n    }\n    url")}`;
  assert.deepEqual(configErrors(source), [
    "relay.alloy:2:10: http: must be a block, written http { ... }",
    "relay.alloy:3:3: expected a reference such as pyroscope.write.default.receiver, got block",
    'relay.alloy:8:5: "headers" must be set as an attribute (headers = ...), not a block',
  ]);
});

test("reports out-of-range numbers, a fraction cut off first as Alloy does", () => {
  const source =
    'pyroscope.receive_http "in" {\n  http {\n    listen_port = 70000\n    conn_limit = -1\n  }\n  forward_to = [pyroscope.write.local.receiver]\n}\n' +
    writeLocal;
  assert.deepEqual(configErrors(source), [
    "relay.alloy:3:19: listen_port: must be a whole number between 0 and 65535",
    "relay.alloy:4:18: conn_limit: must be a whole number at least 0",
  ]);
});

test("reads a fractional number in an integer attribute as Alloy does, cut off toward zero", () => {
  const source =
    'pyroscope.receive_http "in" {\n  http {\n    listen_port = 4040.9\n  }\n  forward_to = [pyroscope.write.local.receiver]\n}\n' +
    writeLocal.replace("    url", "    max_backoff_retries = 2.5\n    url");
  const config = parseConfig(source, "relay.alloy", {});
  assert.equal(config.receivers[0]?.listenPort, 4040);
  assert.equal(config.targets[0]?.maxBackoffRetries, 2);
});

test("reports an invalid duration with the text and the reason", () => {
  const source = receiveLocal + writeLocal.replace("    url", '    remote_timeout = "10x"\n    min_backoff_period = 5\n    url');
  assert.deepEqual(configErrors(source), [
    'relay.alloy:6:22: remote_timeout: invalid duration "10x": unknown unit "x"',
    'relay.alloy:7:26: min_backoff_period: invalid duration "5": missing unit (ns, us, ms, s, m, h)',
  ]);
});

test("takes a minimum backoff longer than the maximum, and a negative max_backoff_retries, as Alloy does", () => {
  const source = receiveLocal + writeLocal.replace("    url", '    min_backoff_period = "10m"\n    max_backoff_retries = -1.5\n    url');
  const [target] = parseConfig(source, "relay.alloy", {}).targets;
  assert.deepEqual([target?.minBackoffMs, target?.maxBackoffMs, target?.maxBackoffRetries], [600_000, 300_000, 1]);
});

test("warns that a write's tracing block is ignored, unless it turns both propagators off", () => {
  const tracing = (body: string) => writeLocal.replace("  endpoint {", `  tracing {${body}}\n  endpoint {`);
  const config = parseConfig(receiveLocal + tracing(" jaeger_propagator = false "), "relay.alloy", {});
  assert.deepEqual(config.warnings, [
    'relay.alloy:5:3: pyroscope.write "local": the tracing block is ignored: the relay sends no trace context (uber-trace-id, traceparent) with its requests',
  ]);
  const off = tracing(" jaeger_propagator = false\n trace_context_propagator = false\n ");
  assert.deepEqual(parseConfig(receiveLocal + off, "relay.alloy", {}).warnings, []);
  assert.deepEqual(configErrors(receiveLocal + tracing(' jaeger_propagator = "on" ')), ["relay.alloy:5:33: jaeger_propagator: expected bool, got string"]);
});

test("reports missing required attributes at their block", () => {
  const source = 'pyroscope.receive_http "in" {\n}\npyroscope.write "local" {\n  endpoint {\n    name = "x"\n  }\n}\n';
  assert.deepEqual(configErrors(source), ['relay.alloy:1:1: missing required attribute "forward_to"', 'relay.alloy:4:3: missing required attribute "url"']);
});

test("requires at least one endpoint and at least one forward_to receiver", () => {
  const source = 'pyroscope.receive_http "in" {\n  forward_to = []\n}\npyroscope.write "local" {\n}\n';
  assert.deepEqual(configErrors(source), [
    "relay.alloy:2:16: forward_to: must name at least one receiver: pyroscope.write.<label>.receiver or pyroscope.relabel.<label>.receiver",
    "relay.alloy:4:1: at least one endpoint block is required",
  ]);
});

test("reports a duplicate component label", () => {
  assert.deepEqual(configErrors(receiveLocal + writeLocal + writeLocal), [
    'relay.alloy:9:1: duplicate component pyroscope.write "local"; first defined at 4:1',
  ]);
});

test("reports a missing or invalid component label", () => {
  assert.deepEqual(configErrors(`${receiveLocal}pyroscope.write {\n}\npyroscope.write "a-b" {\n}\n`), [
    'relay.alloy:4:1: pyroscope.write needs a label, e.g. pyroscope.write "default" { ... }',
    'relay.alloy:6:1: invalid label "a-b": use letters, digits and underscores, not starting with a digit',
  ]);
});

test("reports a duplicate attribute and a duplicate single block", () => {
  const source =
    'pyroscope.receive_http "in" {\n  http {\n  }\n  http {\n  }\n  forward_to = [pyroscope.write.local.receiver]\n}\n' +
    writeLocal.replace("    url", '    url = "http://a"\n    url');
  assert.deepEqual(configErrors(source), [
    'relay.alloy:4:3: duplicate block "http"; only one is allowed',
    'relay.alloy:11:5: duplicate attribute "url"; first set at 10:5',
  ]);
});

test("reports a reference to a write component that does not exist", () => {
  const source = receiveLocal.replace("[pyroscope.write.local.receiver]", "[pyroscope.write.local.receiver, pyroscope.write.nope.receiver]") + writeLocal;
  assert.deepEqual(configErrors(source), ['relay.alloy:2:49: forward_to[1]: pyroscope.write "nope" does not exist']);
});

test("reports a reference that is not a write receiver", () => {
  const source = receiveLocal.replace("[pyroscope.write.local.receiver]", "[pyroscope.receive_http.in.receiver, pyroscope.write.local]") + writeLocal;
  assert.deepEqual(configErrors(source), [
    "relay.alloy:2:17: forward_to[0]: pyroscope.receive_http.in.receiver is not a pyroscope.write or pyroscope.relabel receiver; expected pyroscope.write.<label>.receiver or pyroscope.relabel.<label>.receiver",
    "relay.alloy:2:53: forward_to[1]: pyroscope.write.local is not a pyroscope.write or pyroscope.relabel receiver; expected pyroscope.write.<label>.receiver or pyroscope.relabel.<label>.receiver",
  ]);
});

test("reports two receivers on the same port and an overlapping address", () => {
  const receiver = (label: string, address: string) =>
    `pyroscope.receive_http "${label}" {\n  http {\n    listen_address = "${address}"\n    listen_port = 4041\n  }\n  forward_to = [pyroscope.write.local.receiver]\n}\n`;
  assert.deepEqual(configErrors(receiver("a", "127.0.0.1") + receiver("b", "") + writeLocal), [
    'relay.alloy:11:19: port 4041 is already used by pyroscope.receive_http "a" (defined at 1:1)',
  ]);
  assert.deepEqual(configErrors(receiver("a", "0.0.0.0") + receiver("b", "10.0.0.1") + writeLocal), [
    'relay.alloy:11:19: port 4041 is already used by pyroscope.receive_http "a" (defined at 1:1)',
  ]);
  assert.deepEqual(configErrors(receiver("a", "::1") + receiver("b", "[::1]") + writeLocal), [
    'relay.alloy:11:19: port 4041 is already used by pyroscope.receive_http "a" (defined at 1:1)',
  ]);
  const config = parseConfig(receiver("a", "127.0.0.1") + receiver("b", "127.0.0.2") + writeLocal, "relay.alloy", {});
  assert.equal(config.receivers.length, 2);
});

test("reports two receivers that both default to port 8080 at the second component", () => {
  assert.deepEqual(configErrors(receiveLocal + receiveLocal.replace('"in"', '"again"') + writeLocal), [
    'relay.alloy:4:1: port 8080 is already used by pyroscope.receive_http "in" (defined at 1:1)',
  ]);
});

test("lets several receivers ask for a free port with port 0", () => {
  const receiver = (label: string) =>
    `pyroscope.receive_http "${label}" {\n  http {\n    listen_port = 0\n  }\n  forward_to = [pyroscope.write.local.receiver]\n}\n`;
  assert.equal(parseConfig(receiver("a") + receiver("b") + writeLocal, "relay.alloy", {}).receivers.length, 2);
});

test("reports more than one auth method without showing secrets", () => {
  const source =
    receiveLocal +
    writeLocal.replace("    url", '    bearer_token = "tok-SECRET"\n    basic_auth {\n      username = "u"\n      password = "pw-SECRET"\n    }\n    url');
  const errors = configErrors(source);
  assert.deepEqual(errors, ["relay.alloy:6:20: bearer_token: set at most one of basic_auth, authorization, oauth2, bearer_token, bearer_token_file"]);
});

test("reports both password and password_file", () => {
  const source = receiveLocal + writeLocal.replace("    url", '    basic_auth {\n      password = "pw-SECRET"\n      password_file = "/p"\n    }\n    url');
  assert.deepEqual(configErrors(source, { files: { "/p": "pw-SECRET" } }), ["relay.alloy:8:23: password_file: set password or password_file, not both"]);
});

test("reports a certificate without its key", () => {
  const source = receiveLocal + writeLocal.replace("    url", '    tls_config {\n      key_file = "/k"\n    }\n    url');
  assert.deepEqual(configErrors(source, { files: { "/k": "KEY" } }), [
    "relay.alloy:7:18: key_file: a client key needs its certificate: set cert_pem or cert_file",
  ]);
});

test("reports a certificate file that cannot be read at its attribute", () => {
  const source = receiveLocal + writeLocal.replace("    url", '    tls_config {\n      ca_file = "/missing"\n    }\n    url');
  assert.deepEqual(configErrors(source), [`relay.alloy:7:17: ca_file: cannot read "/missing": ENOENT: no such file or directory, open '/missing'`]);
});

test("warns of a secret's file that cannot be read yet, and loads: the writer reads it for each request, as Alloy does", () => {
  const missing = (path: string) => {
    throw new Error(`ENOENT: no such file or directory, open '${path}'`);
  };
  const bearer = receiveLocal + writeLocal.replace("    url", '    bearer_token_file = "/missing"\n    url');
  const config = parseConfig(bearer, "relay.alloy", {}, missing);
  assert.deepEqual(config.targets[0]?.auth, { kind: "bearer", token: "", tokenFile: "/missing" });
  assert.deepEqual(config.warnings, [
    `relay.alloy:6:25: bearer_token_file: cannot read "/missing" now: ENOENT: no such file or directory, open '/missing'; ` +
      `target "local" reads it again for each request, and its requests fail as "secret file" until it can`,
  ]);

  const twoEndpoints = `${receiveLocal}pyroscope.write "local" {
  endpoint {
    url = "http://a"
  }
  endpoint {
    name = "b"
    url  = "http://b"
    basic_auth {
      username      = "u"
      password_file = "/pw"
    }
  }
}
`;
  const [warning] = parseConfig(twoEndpoints, "relay.alloy", {}, missing).warnings;
  assert.match(warning ?? "", /^relay\.alloy:13:23: password_file: cannot read "\/pw" now: .*; target "local\/b" reads it again/);
  assert.deepEqual(parseConfig(twoEndpoints, "relay.alloy", {}, () => "pw").warnings, [], "none once it can be read");
});

test("reports a bad url without echoing it", () => {
  for (const url of ["localhost:4040", "ftp://user:SECRET@host", "not a url"]) {
    const source = receiveLocal + writeLocal.replace("http://localhost:4040", url);
    assert.deepEqual(configErrors(source), ["relay.alloy:6:11: url: must be an absolute http:// or https:// URL"], url);
  }
});

test("refuses credentials in an endpoint url without echoing them", () => {
  const source = receiveLocal + writeLocal.replace("http://localhost:4040", "http://user:SECRET@localhost:4040");
  const errors = configErrors(source);
  assert.deepEqual(errors, ["relay.alloy:6:11: url: must not contain credentials: use a basic_auth block"]);
});

test("reports invalid header and external label names", () => {
  const source =
    receiveLocal + writeLocal.replace("  endpoint {", '  external_labels = { "bad-name" = "x" }\n  endpoint {\n    headers = { "bad header" = "x" }');
  assert.deepEqual(configErrors(source), [
    'relay.alloy:5:36: external_labels["bad-name"]: invalid label name; use letters, digits, "_" and "."',
    'relay.alloy:7:32: headers["bad header"]: invalid HTTP header name',
  ]);
});

test("an attribute set to null takes its type's zero value, not its default, as Alloy decodes it", () => {
  const write = `pyroscope.write "local" {
  endpoint {
    url                 = "http://localhost:4040"
    name                = null
    bearer_token        = {prod = "secret"}[constants.hostname]
    remote_timeout      = null
    headers             = null
    max_backoff_retries = null
    retry_on_http_429   = null
    proxy_url           = null
  }
}
`;
  const [target] = parseConfig(receiveLocal + write, "relay.alloy", {}).targets;
  assert.ok(target);
  assert.deepEqual(
    {
      name: target.endpointName,
      auth: target.auth,
      timeout: target.remoteTimeoutMs,
      headers: target.headers,
      retries: target.maxBackoffRetries,
      on429: target.retryOnHttp429,
      proxy: target.proxy,
    },
    { name: "", auth: { kind: "none" }, timeout: 0, headers: {}, retries: 0, on429: false, proxy: undefined },
  );
  assert.deepEqual(configErrors(receiveLocal.replace("[pyroscope.write.local.receiver]", "null") + writeLocal), [
    "relay.alloy:2:16: forward_to: must name at least one receiver: pyroscope.write.<label>.receiver or pyroscope.relabel.<label>.receiver",
  ]);
  // A null proxy_url is Go's zero URL, which Alloy's check takes for none: a no_proxy needs one.
  const noProxy = writeLocal.replace("    url", '    proxy_url = null\n    no_proxy = "x"\n    url');
  assert.deepEqual(configErrors(receiveLocal + noProxy), ["relay.alloy:7:16: no_proxy: needs proxy_url"]);
  const more = writeLocal.replace("    url", '    http_headers = { "X-A" = null }\n    tls_config {\n      min_version = null\n    }\n    url');
  const [withNulls] = parseConfig(receiveLocal + more, "relay.alloy", {}).targets;
  assert.deepEqual([withNulls?.httpHeaders, withNulls?.tls], [{ "X-A": [] }, { insecureSkipVerify: false }]);
});

test("reports duplicate target names", () => {
  const source =
    receiveLocal +
    'pyroscope.write "local" {\n  endpoint {\n    name = "a"\n    url = "http://a"\n  }\n  endpoint {\n    name = "a"\n    url = "http://b"\n  }\n  endpoint {\n    url = "http://c"\n  }\n  endpoint {\n    name = "2"\n    url = "http://d"\n  }\n}\n';
  assert.deepEqual(configErrors(source), [
    'relay.alloy:10:12: duplicate target name "local/a"; give each endpoint of pyroscope.write "local" a different name',
    'relay.alloy:17:12: duplicate target name "local/2"; give each endpoint of pyroscope.write "local" a different name',
  ]);
});

test("reports a configuration without receive_http as a whole-file error", () => {
  assert.deepEqual(configErrors(writeLocal), ["relay.alloy: no pyroscope.receive_http component: nothing would receive profiles"]);
});

test("reports evaluation errors", () => {
  const source = receiveLocal + writeLocal.replace("    url", '    name = file("x")\n    bearer_token = env([])\n    headers = { a = 1, b = [] + 1 }\n    url');
  assert.deepEqual(configErrors(source), [
    'relay.alloy:6:12: unknown function "file"',
    "relay.alloy:7:24: env: argument 1: expected string, got list",
    'relay.alloy:8:28: "+" needs numbers or strings, got list',
  ]);
});

test("collects problems from every component before giving up", () => {
  const source = 'pyroscope.receive_http "in" {\n  bogus = 1\n}\npyroscope.write "local" {\n  endpoint {\n  }\n}\n';
  assert.deepEqual(configErrors(source), [
    'relay.alloy:1:1: missing required attribute "forward_to"',
    'relay.alloy:2:3: unknown attribute "bogus"',
    'relay.alloy:5:3: missing required attribute "url"',
  ]);
});

test("never shows secret values in any error message", () => {
  const source = `pyroscope.receive_http "in" {
  http {
    listen_port = env("SECRET")
  }
  forward_to = [env("SECRET")]
}
pyroscope.write "local" {
  external_labels = { "bad label" = env("SECRET") }
  endpoint {
    url = env("SECRET")
    headers = { Authorization = ["pw-SECRET"] }
    bearer_token = ["tok-SECRET"]
    basic_auth {
      username = "u"
      password = 42
      password_file = "/nope"
    }
  }
}
`;
  const errors = configErrors(source, { env: { SECRET: "hunter2-SECRET" } });
  assert.ok(errors.length >= 6, errors.join("\n"));
  for (const error of errors) assert.doesNotMatch(error, /SECRET/);
});
