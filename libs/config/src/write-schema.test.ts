import { test } from "node:test";
import assert from "node:assert/strict";
import { writeSchema } from "./write-schema.js";

const files: Record<string, string> = { "/token": "t0ken\n", "/pw": "pw\n", "/ca": "CA\n" };
const schema = writeSchema((path) => files[path] ?? assert.fail(path));

function issues(data: unknown): string[] {
  return schema.safeParse(data).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];
}

test("fills in every endpoint default", () => {
  assert.deepEqual(schema.parse({ endpoint: [{ url: "http://x" }] }), {
    external_labels: {},
    endpoint: [
      {
        url: "http://x",
        name: "",
        remote_timeout: 10_000,
        debug_info_upload_timeout: 120_000,
        headers: {},
        min_backoff_period: 500,
        max_backoff_period: 300_000,
        max_backoff_retries: 10,
        retry_on_http_429: true,
        proxy_from_environment: false,
        follow_redirects: true,
        enable_http2: true,
      },
    ],
  });
});

test("gives each endpoint its own headers object", () => {
  const { endpoint } = schema.parse({ endpoint: [{ url: "http://a" }, { url: "http://b" }] });
  assert.notEqual(endpoint[0]?.headers, endpoint[1]?.headers);
});

test("reads secret and certificate files", () => {
  const { endpoint } = schema.parse({
    endpoint: [
      { url: "http://a", bearer_token_file: "/token", tls_config: [{ ca_file: "/ca" }] },
      { url: "http://b", basic_auth: [{ username: "u", password_file: "/pw" }] },
    ],
  });
  assert.deepEqual(endpoint[0]?.bearer_token_file, { path: "/token", contents: "t0ken" });
  assert.deepEqual(endpoint[0]?.tls_config, { ca_file: { path: "/ca", contents: "CA\n" }, insecure_skip_verify: false });
  assert.deepEqual(endpoint[1]?.basic_auth, { username: "u", password_file: { path: "/pw", contents: "pw" } });
});

test("requires an endpoint with an http(s) url", () => {
  assert.deepEqual(issues({}), ["endpoint: at least one endpoint block is required"]);
  assert.deepEqual(issues({ endpoint: [{}] }), ["endpoint.0.url: Invalid input: expected string, received undefined"]);
  assert.deepEqual(issues({ endpoint: [{ url: "unix:///sock" }] }), ["endpoint.0.url: must be an absolute http:// or https:// URL"]);
});

test("refuses a url with a query or fragment, which would never be sent, without showing it", () => {
  const refused = "endpoint.0.url: must not contain a query or fragment (it would never be sent)";
  for (const url of ["https://p.example/?token=abc", "https://p.example/base?abc", "https://p.example/#abc", "https://p.example/?"]) {
    assert.deepEqual(issues({ endpoint: [{ url }] }), [refused], url);
  }
  assert.deepEqual(issues({ endpoint: [{ url: "https://p.example/base" }] }), []);
});

test("allows at most one auth method, pointing at the second", () => {
  assert.deepEqual(issues({ endpoint: [{ url: "http://a", bearer_token: "t", bearer_token_file: "/token" }] }), [
    "endpoint.0.bearer_token_file: set at most one of basic_auth, authorization, oauth2, bearer_token, bearer_token_file",
  ]);
  assert.deepEqual(issues({ endpoint: [{ url: "http://a", basic_auth: [{}], bearer_token: "t" }] }), [
    "endpoint.0.bearer_token: set at most one of basic_auth, authorization, oauth2, bearer_token, bearer_token_file",
  ]);
});

test("rejects conflicting or incomplete secrets and certificates", () => {
  assert.deepEqual(issues({ endpoint: [{ url: "http://a", basic_auth: [{ password: "p", password_file: "/pw" }] }] }), [
    "endpoint.0.basic_auth.0.password_file: set password or password_file, not both",
  ]);
  assert.deepEqual(issues({ endpoint: [{ url: "http://a", tls_config: [{ cert_file: "/ca" }] }] }), [
    "endpoint.0.tls_config.0.cert_file: a client certificate needs its key: set key_pem or key_file",
  ]);
});

test("takes a minimum backoff over the maximum, as Alloy does", () => {
  const [endpoint] = schema.parse({ endpoint: [{ url: "http://a", min_backoff_period: "2s", max_backoff_period: "1s" }] }).endpoint;
  assert.deepEqual([endpoint?.min_backoff_period, endpoint?.max_backoff_period], [2000, 1000]);
});

test("takes any max_backoff_retries, a negative one as a single attempt like dskit's backoff", () => {
  const retries = (max_backoff_retries: unknown) => schema.parse({ endpoint: [{ url: "http://a", max_backoff_retries }] }).endpoint[0]?.max_backoff_retries;
  assert.equal(retries(-1), 1);
  assert.equal(retries(-100), 1);
  assert.equal(retries(0), 0, "0: no limit");
  assert.equal(retries(1), 1);
  assert.equal(retries(3), 3);
});

test("accepts Alloy's tracing block, both propagators on unless turned off, checking its types", () => {
  assert.deepEqual(schema.parse({ endpoint: [{ url: "http://a" }], tracing: [{}] }).tracing, { jaeger_propagator: true, trace_context_propagator: true });
  assert.deepEqual(schema.parse({ endpoint: [{ url: "http://a" }], tracing: [{ jaeger_propagator: false }] }).tracing, {
    jaeger_propagator: false,
    trace_context_propagator: true,
  });
  assert.equal(schema.parse({ endpoint: [{ url: "http://a" }] }).tracing, undefined);
  assert.deepEqual(issues({ endpoint: [{ url: "http://a" }], tracing: [{ trace_context_propagator: "yes" }] }), [
    "tracing.0.trace_context_propagator: Invalid input: expected boolean, received string",
  ]);
  assert.deepEqual(issues({ endpoint: [{ url: "http://a" }], tracing: [{ sampler: 1 }] }), ['tracing.0: Unrecognized key: "sampler"']);
  assert.deepEqual(issues({ endpoint: [{ url: "http://a" }], tracing: [{}, {}] }), ['tracing.1: duplicate block "tracing"; only one is allowed']);
});

test("checks header names and label names", () => {
  assert.deepEqual(issues({ endpoint: [{ url: "http://a", headers: { "X-Ok": "1", "a:b": "2" } }] }), ["endpoint.0.headers.a:b: invalid HTTP header name"]);
  assert.deepEqual(issues({ external_labels: { "a.b_1": "x", "a-b": "y" }, endpoint: [{ url: "http://a" }] }), [
    'external_labels.a-b: invalid label name; use letters, digits, "_" and "."',
  ]);
});
