import { test } from "node:test";
import assert from "node:assert/strict";
import { ComponentReference } from "./component-reference.js";
import { ConfigError } from "./config-error.js";
import { parseConfig } from "./parse-config.js";
import { receiveHttpSchema } from "./receive-http-schema.js";
import { expectedHttp2Defaults } from "./http2-defaults-fixture.js";
import { selfSigned } from "./self-signed-fixture.js";

const receiver = new ComponentReference(["pyroscope", "write", "a", "receiver"]);

/** Two self-signed certificates with their keys, made by openssl for this file. */
const pki = selfSigned(["server", "other"]);

const files: Record<string, string> = {
  "/tls/server.crt": pki.server.cert,
  "/tls/server.key": pki.server.key,
  "/tls/ca.crt": pki.other.cert,
};
const readFile = (path: string) => {
  const contents = files[path];
  if (contents === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
  return contents;
};
const schema = receiveHttpSchema(readFile);

const http2Defaults = expectedHttp2Defaults(120_000);

function parseTls(tls: Record<string, unknown>) {
  return schema.parse({ http: [{ tls: [tls] }], forward_to: [receiver] }).http.tls;
}

/** `[path, message]` of every issue. */
function issues(data: unknown): [string, string][] {
  return (schema.safeParse(data).error?.issues ?? []).map((i) => [i.path.join("."), i.message]);
}

const tlsIssues = (tls: Record<string, unknown>) => issues({ http: [{ tls: [tls] }], forward_to: [receiver] });

test("fills in every default when the http block is omitted", () => {
  assert.deepEqual(schema.parse({ forward_to: [receiver] }), {
    http: {
      listen_address: "",
      listen_port: 8080,
      conn_limit: 100,
      server_read_timeout: 30_000,
      server_write_timeout: 30_000,
      server_idle_timeout: 120_000,
      http2: http2Defaults,
      http2DisabledIgnored: false,
    },
    graceful_shutdown_timeout: 30_000,
    debug_info_upload_timeout: 120_000,
    forward_to: [receiver],
  });
});

test("fills in the defaults of attributes left out of the http block", () => {
  const { http } = schema.parse({ http: [{ listen_port: 9999 }], forward_to: [receiver] });
  assert.equal(http.listen_port, 9999);
  assert.equal(http.conn_limit, 100);
});

test("conn_limit 0 means no limit and is accepted; a negative limit is not", () => {
  assert.equal(schema.parse({ http: [{ conn_limit: 0 }], forward_to: [receiver] }).http.conn_limit, 0);
  assert.deepEqual(issues({ http: [{ conn_limit: -1 }], forward_to: [receiver] }), [["http.0.conn_limit", "must be a whole number at least 0"]]);
});

test("rejects unknown attributes, non-references and an empty forward_to", () => {
  const codes = (data: unknown) => schema.safeParse(data).error?.issues.map((i) => [i.path.join("."), i.code]);
  assert.deepEqual(codes({ http: [{ port: 1 }], forward_to: [receiver] }), [["http.0", "unrecognized_keys"]]);
  assert.deepEqual(codes({ http: [{ http2: [{ enable: true }] }], forward_to: [receiver] }), [["http.0.http2.0", "unrecognized_keys"]]);
  assert.deepEqual(codes({ http: [{ tls: [{ cert: "x", key: "y", cert_pem: pki.server.cert, key_pem: pki.server.key }] }], forward_to: [receiver] }), [
    ["http.0.tls.0", "unrecognized_keys"],
  ]);
  assert.deepEqual(codes({ grpc: [{ port: 1 }], forward_to: [receiver] }), [["grpc.0", "unrecognized_keys"]]);
  assert.deepEqual(codes({ forward_to: ["pyroscope.write.a.receiver"] }), [["forward_to.0", "custom"]]);
  assert.deepEqual(codes({ forward_to: [] }), [["forward_to", "too_small"]]);
  assert.deepEqual(codes({}), [["forward_to", "invalid_type"]]);
});

test("graceful_shutdown_timeout, debug_info_upload_timeout and a grpc block are read", () => {
  const value = schema.parse({
    graceful_shutdown_timeout: "5s",
    debug_info_upload_timeout: "10m",
    grpc: [{ listen_address: "0.0.0.0", listen_port: 9095, conn_limit: 10, max_connection_age: "1h", server_max_recv_msg_size: 4_194_304 }],
    forward_to: [receiver],
  });
  assert.equal(value.graceful_shutdown_timeout, 5_000);
  assert.equal(value.debug_info_upload_timeout, 600_000);
  assert.equal(value.grpc?.listen_port, 9095);
});

test("http2: Alloy's defaults; 0 takes Go's defaults; idle_timeout 0 is server_idle_timeout; enabled = false is noted, h2c served anyway", () => {
  const http = (block: Record<string, unknown>) => schema.parse({ http: [{ http2: [block] }], forward_to: [receiver] }).http;
  const http2 = (block: Record<string, unknown>, http: Record<string, unknown> = {}) =>
    schema.parse({ http: [{ ...http, http2: [block] }], forward_to: [receiver] }).http.http2;
  assert.deepEqual(http2({ enabled: true }), http2Defaults);
  assert.equal(http({ enabled: true }).http2DisabledIgnored, false);
  assert.equal(http({ enabled: false }).http2DisabledIgnored, true);
  assert.equal(http({}).http2DisabledIgnored, false);
  assert.deepEqual(http2({ max_concurrent_streams: 0, max_decoder_header_table_size: 0 }, { server_idle_timeout: "7s" }), {
    ...http2Defaults,
    maxConcurrentStreams: 250,
    idleTimeoutMs: 7_000,
  });
  assert.deepEqual(
    http2({
      enabled: true,
      max_concurrent_streams: 8,
      max_read_frame_size: 32_768,
      max_decoder_header_table_size: 8192,
      max_upload_buffer_per_stream: 100_000,
      max_upload_buffer_per_connection: 200_000,
      idle_timeout: "3s",
    }),
    {
      maxConcurrentStreams: 8,
      maxReadFrameSize: 32_768,
      maxDecoderHeaderTableSize: 8192,
      maxUploadBufferPerStream: 100_000,
      maxUploadBufferPerConnection: 200_000,
      idleTimeoutMs: 3_000,
    },
  );
  assert.equal(http2({}, { server_idle_timeout: "0s", server_read_timeout: "5s" }).idleTimeoutMs, 5_000, "Go's idle timeout 0 is the read timeout");
  // Go ignores a connection window below HTTP/2's initial 65535 bytes.
  assert.equal(http2({ max_upload_buffer_per_connection: 1000 }).maxUploadBufferPerConnection, 1 << 20);
});

test("http2: the attributes Node has no equivalent for are accepted", () => {
  const block = {
    max_handlers: 10,
    max_encoder_header_table_size: 4096,
    permit_prohibited_ciphers: true,
    read_idle_timeout: "10s",
    ping_timeout: "5s",
    write_byte_timeout: "1s",
  };
  assert.deepEqual(issues({ http: [{ http2: [block] }], forward_to: [receiver] }), []);
});

test("http2: a frame size HTTP/2 does not allow is refused", () => {
  assert.deepEqual(issues({ http: [{ http2: [{ max_read_frame_size: 1000 }] }], forward_to: [receiver] }), [
    ["http.0.http2.0.max_read_frame_size", "must be 0 (1 MiB) or between 16384 and 16777215"],
  ]);
});

test("tls: certificate and key as PEM or as files", () => {
  assert.deepEqual(parseTls({ cert_pem: pki.server.cert, key_pem: pki.server.key }), {
    cert: pki.server.cert,
    key: pki.server.key,
    clientAuth: "NoClientCert",
  });
  assert.deepEqual(parseTls({ cert_file: "/tls/server.crt", key_file: "/tls/server.key" }), {
    cert: pki.server.cert,
    key: pki.server.key,
    clientAuth: "NoClientCert",
  });
  assert.deepEqual(parseTls({ cert_file: "/tls/server.crt", key_pem: pki.server.key, cert_pem: "", key_file: "" }), {
    cert: pki.server.cert,
    key: pki.server.key,
    clientAuth: "NoClientCert",
  });
  // null is Go's zero string: unset too.
  const nulls = { client_ca: null, client_ca_pem: null, client_ca_file: null, client_auth_type: null, cipher_suites: null, min_version: null };
  assert.deepEqual(parseTls({ cert_file: "/tls/server.crt", key_pem: pki.server.key, cert_pem: null, key_file: null, ...nulls }), {
    cert: pki.server.cert,
    key: pki.server.key,
    clientAuth: "NoClientCert",
  });
});

test("tls: client CA (client_ca, client_ca_pem or client_ca_file), client_auth_type, min_version, cipher_suites", () => {
  const base = { cert_pem: pki.server.cert, key_pem: pki.server.key };
  assert.deepEqual(parseTls({ ...base, client_ca_file: "/tls/ca.crt", client_auth_type: "RequireAndVerifyClientCert", min_version: "VersionTLS13" }), {
    ...{ cert: pki.server.cert, key: pki.server.key },
    clientAuth: "RequireAndVerifyClientCert",
    clientCa: pki.other.cert,
    minVersion: "TLSv1.3",
  });
  assert.equal(parseTls({ ...base, client_ca_pem: pki.other.cert, client_auth_type: "VerifyClientCertIfGiven" })?.clientCa, pki.other.cert);
  assert.equal(parseTls({ ...base, client_ca: pki.other.cert, client_auth_type: "VerifyClientCertIfGiven" })?.clientCa, pki.other.cert);
  // Go's old name for RequireAnyClientCert.
  assert.equal(parseTls({ ...base, client_auth_type: "RequireClientCert" })?.clientAuth, "RequireAnyClientCert");
  assert.equal(parseTls({ ...base, min_version: "VersionTLS10" })?.minVersion, "TLSv1");
  assert.equal(
    parseTls({ ...base, cipher_suites: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,TLS_AES_128_GCM_SHA256" })
      ?.ciphers,
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305",
  );
  // Go never restricts TLS 1.3: naming only its suites restricts nothing.
  assert.equal(parseTls({ ...base, cipher_suites: "TLS_AES_256_GCM_SHA384" })?.ciphers, undefined);
});

test("tls: a certificate without a key, or a key without a certificate, is refused", () => {
  assert.deepEqual(tlsIssues({ cert_pem: pki.server.cert }), [["http.0.tls.0", "a tls block needs key_pem or key_file"]]);
  assert.deepEqual(tlsIssues({ key_file: "/tls/server.key" }), [["http.0.tls.0", "a tls block needs cert_pem or cert_file"]]);
  assert.deepEqual(tlsIssues({}), [
    ["http.0.tls.0", "a tls block needs cert_pem or cert_file"],
    ["http.0.tls.0", "a tls block needs key_pem or key_file"],
  ]);
});

test("tls: PEM and file of the same thing are exclusive", () => {
  const both = { cert_pem: pki.server.cert, cert_file: "/tls/server.crt", key_pem: pki.server.key, key_file: "/tls/server.key" };
  assert.deepEqual(tlsIssues(both), [
    ["http.0.tls.0.cert_file", "set cert_pem or cert_file, not both"],
    ["http.0.tls.0.key_file", "set key_pem or key_file, not both"],
  ]);
  const cas = { cert_pem: pki.server.cert, key_pem: pki.server.key, client_auth_type: "RequireAndVerifyClientCert" };
  assert.deepEqual(tlsIssues({ ...cas, client_ca_pem: pki.other.cert, client_ca_file: "/tls/ca.crt" }), [
    ["http.0.tls.0.client_ca_file", "set client_ca_pem or client_ca_file, not both"],
  ]);
  assert.deepEqual(tlsIssues({ ...cas, client_ca: pki.other.cert, client_ca_pem: pki.other.cert }), [
    ["http.0.tls.0.client_ca_pem", "set client_ca or client_ca_pem, not both"],
  ]);
});

test("tls: a client CA without a client_auth_type that asks for certificates is refused, as in Alloy", () => {
  assert.deepEqual(tlsIssues({ cert_pem: pki.server.cert, key_pem: pki.server.key, client_ca_file: "/tls/ca.crt" }), [
    ["http.0.tls.0.client_ca_file", "a client CA needs a client_auth_type other than NoClientCert, e.g. RequireAndVerifyClientCert"],
  ]);
});

test("tls: unknown client_auth_type, min_version and cipher suites are refused with what is allowed", () => {
  const base = { cert_pem: pki.server.cert, key_pem: pki.server.key };
  assert.deepEqual(tlsIssues({ ...base, client_auth_type: "require", min_version: "TLS12", cipher_suites: "TLS_ECDHE_RSA_WITH_RC4_128_SHA" }), [
    [
      "http.0.tls.0.client_auth_type",
      "must be one of NoClientCert, RequestClientCert, RequireAnyClientCert, RequireClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert",
    ],
    ["http.0.tls.0.min_version", "must be one of VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13"],
  ]);
  assert.deepEqual(tlsIssues({ ...base, cipher_suites: "TLS_ECDHE_RSA_WITH_RC4_128_SHA" }), [
    ["http.0.tls.0.cipher_suites", 'cipher suite "TLS_ECDHE_RSA_WITH_RC4_128_SHA" not recognized; use Go\'s names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
  ]);
});

test("tls: a key that does not match the certificate is refused, without quoting either", () => {
  const found = tlsIssues({ cert_pem: pki.server.cert, key_pem: pki.other.key });
  assert.equal(found.length, 1);
  const [[path, message]] = found as [[string, string]];
  assert.equal(path, "http.0.tls.0.cert_pem");
  assert.match(message, /^the certificate and key cannot be used: /);
  assert.ok(!message.includes("PRIVATE KEY") && !message.includes(pki.other.key.split("\n")[1]!), message);
  assert.match(tlsIssues({ cert_file: "/tls/server.crt", key_pem: "not a key" })[0]?.[0] ?? "", /cert_file$/);
});

test("tls: a client CA with no certificate in it and a missing file are refused", () => {
  const base = { cert_pem: pki.server.cert, key_pem: pki.server.key, client_auth_type: "VerifyClientCertIfGiven" };
  assert.deepEqual(tlsIssues({ ...base, client_ca_pem: "garbage" }), [["http.0.tls.0.client_ca_pem", "no PEM certificate found"]]);
  assert.deepEqual(tlsIssues({ key_pem: pki.server.key, cert_file: "/tls/missing.crt" }), [
    ["http.0.tls.0.cert_file", "cannot read \"/tls/missing.crt\": ENOENT: no such file or directory, open '/tls/missing.crt'"],
  ]);
});

test("a configuration's tls mistakes are reported at file:line:col, and the tls settings reach the receiver", () => {
  const write = 'pyroscope.write "local" {\n  endpoint {\n    url = "http://localhost:4040"\n  }\n}\n';
  const receive = (tls: string) =>
    `pyroscope.receive_http "in" {\n  http {\n    tls {\n${tls}\n    }\n  }\n  forward_to = [pyroscope.write.local.receiver]\n}\n${write}`;
  const errors = (source: string) => {
    try {
      parseConfig(source, "relay.alloy", {}, readFile);
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return error.message.split("\n");
    }
    assert.fail("expected a ConfigError");
  };
  assert.deepEqual(errors(receive('      cert_file = "/tls/server.crt"\n      cert_pem  = "x"\n      key_file  = "/tls/server.key"')), [
    "relay.alloy:4:19: cert_file: set cert_pem or cert_file, not both",
  ]);
  assert.deepEqual(errors(receive('      key_file = "/tls/server.key"')), ["relay.alloy:3:5: a tls block needs cert_pem or cert_file"]);
  const config = parseConfig(receive('      cert_file = "/tls/server.crt"\n      key_file  = "/tls/server.key"'), "relay.alloy", {}, readFile);
  assert.deepEqual(config.receivers[0]?.tls, { cert: pki.server.cert, key: pki.server.key, clientAuth: "NoClientCert" });
});

test("tls, certificates not loaded (a process that serves no receiver): checked as written, no file read, no settings", () => {
  const read: string[] = [];
  const unloaded = receiveHttpSchema(
    (path) => {
      read.push(path);
      return readFile(path);
    },
    { loadCertificates: false },
  );
  const files = {
    cert_file: "/tls/missing.crt",
    key_file: "/tls/missing.key",
    client_ca_file: "/tls/missing-ca.crt",
    client_auth_type: "RequireAndVerifyClientCert",
  };
  const parsed = unloaded.parse({ http: [{ tls: [files] }], grpc: [{ tls: [files] }], forward_to: [receiver] });
  assert.equal(parsed.http.tls, undefined);
  assert.equal(parsed.grpc?.tls, undefined);
  // Nor is a certificate given inline loaded: a key that does not match, a CA that is no certificate.
  assert.equal(
    unloaded.parse({
      http: [{ tls: [{ cert_pem: pki.server.cert, key_pem: pki.other.key, client_ca_pem: "garbage", client_auth_type: "VerifyClientCertIfGiven" }] }],
      forward_to: [receiver],
    }).http.tls,
    undefined,
  );
  assert.deepEqual(read, []);
  const unloadedIssues = (tls: Record<string, unknown>) =>
    (unloaded.safeParse({ http: [{ tls: [tls] }], forward_to: [receiver] }).error?.issues ?? []).map((i) => [i.path.join("."), i.message]);
  assert.deepEqual(
    unloadedIssues({ cert_file: "/tls/missing.crt", cert_pem: pki.server.cert, client_ca_file: "/tls/ca.crt", cipher_suites: "RC4", min_version: "TLS12" }),
    [["http.0.tls.0.min_version", "must be one of VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13"]],
  );
  assert.deepEqual(unloadedIssues({ cert_file: "/tls/missing.crt", cert_pem: pki.server.cert, client_ca_file: "/tls/ca.crt", cipher_suites: "RC4" }), [
    ["http.0.tls.0.cert_file", "set cert_pem or cert_file, not both"],
    ["http.0.tls.0", "a tls block needs key_pem or key_file"],
    ["http.0.tls.0.client_ca_file", "a client CA needs a client_auth_type other than NoClientCert, e.g. RequireAndVerifyClientCert"],
    ["http.0.tls.0.cipher_suites", 'cipher suite "RC4" not recognized; use Go\'s names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
  ]);
  assert.deepEqual(read, []);
});
