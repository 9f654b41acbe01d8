import { test } from "node:test";
import assert from "node:assert/strict";
import { writeSchema } from "./write-schema.js";

const files: Record<string, string> = {
  "/secret": "  s3cret \r\n\n",
  "/ca.pem": "-----CA-----\n",
  "/cert.pem": "-----CERT-----\n",
  "/key.pem": "-----KEY-----\n",
};
const schema = writeSchema((path) => {
  const contents = files[path];
  if (contents === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
  return contents;
});

/** The endpoint as validated, from its attributes and blocks (blocks as lists of bodies). */
function endpoint(attributes: Record<string, unknown>) {
  const [parsed] = schema.parse({ endpoint: [{ url: "https://p", ...attributes }] }).endpoint;
  return parsed!;
}

/** Every problem with one endpoint, as `path: message` (the path below the endpoint). */
function issues(attributes: Record<string, unknown>): string[] {
  const result = schema.safeParse({ endpoint: [{ url: "https://p", ...attributes }] });
  return result.error?.issues.map((i) => `${i.path.slice(2).join(".")}: ${i.message}`) ?? [];
}

test("defaults: redirects followed, HTTP/2 allowed, no proxy from the environment", () => {
  const parsed = endpoint({});
  assert.equal(parsed.follow_redirects, true);
  assert.equal(parsed.enable_http2, true);
  assert.equal(parsed.proxy_from_environment, false);
  assert.equal(parsed.http_headers, undefined);
});

test("reads every attribute and block of the HTTP client", () => {
  const parsed = endpoint({
    oauth2: [
      {
        client_id: "relay",
        client_secret_file: "/secret",
        scopes: ["profiles:write", "openid"],
        token_url: "https://auth/token",
        endpoint_params: { audience: "pyroscope" },
        proxy_url: "http://proxy:3128",
        no_proxy: "10.0.0.0/8,.internal",
        proxy_connect_header: { "Proxy-Authorization": ["Basic abc"] },
        tls_config: [{ ca_pem: "-----INLINE CA-----", server_name: "auth" }],
      },
    ],
    tls_config: [{ ca_file: "/ca.pem", cert_pem: "-----INLINE CERT-----", key_file: "/key.pem", min_version: "TLS13" }],
    http_headers: { "X-Token": ["a", "b"], "X-Empty": [] },
    proxy_from_environment: true,
    proxy_connect_header: { "X-Proxy-Tenant": ["t"] },
    follow_redirects: false,
    enable_http2: false,
  });
  assert.deepEqual(parsed.oauth2, {
    client_id: "relay",
    client_secret_file: { path: "/secret", contents: "s3cret" },
    scopes: ["profiles:write", "openid"],
    token_url: "https://auth/token",
    endpoint_params: { audience: "pyroscope" },
    proxy_url: "http://proxy:3128",
    no_proxy: "10.0.0.0/8,.internal",
    proxy_from_environment: false,
    proxy_connect_header: { "Proxy-Authorization": ["Basic abc"] },
    tls_config: { ca_pem: "-----INLINE CA-----", server_name: "auth", insecure_skip_verify: false },
  });
  assert.deepEqual(parsed.tls_config, {
    ca_file: { path: "/ca.pem", contents: "-----CA-----\n" },
    cert_pem: "-----INLINE CERT-----",
    key_file: { path: "/key.pem", contents: "-----KEY-----\n" },
    insecure_skip_verify: false,
    min_version: "TLS13",
  });
  assert.deepEqual(parsed.http_headers, { "X-Token": ["a", "b"], "X-Empty": [] });
  assert.deepEqual(parsed.proxy_connect_header, { "X-Proxy-Tenant": ["t"] });
  assert.equal(parsed.proxy_from_environment, true);
  assert.equal(parsed.follow_redirects, false);
  assert.equal(parsed.enable_http2, false);
});

test("secrets read from files lose the whitespace around them, as Alloy trims them; PEM files are kept whole", () => {
  assert.deepEqual(endpoint({ bearer_token_file: "/secret" }).bearer_token_file, { path: "/secret", contents: "s3cret" });
  assert.deepEqual(endpoint({ authorization: [{ credentials_file: "/secret" }] }).authorization, {
    type: "Bearer",
    credentials_file: { path: "/secret", contents: "s3cret" },
  });
  assert.deepEqual(endpoint({ tls_config: [{ ca_file: "/ca.pem" }] }).tls_config?.ca_file, {
    path: "/ca.pem",
    contents: "-----CA-----\n",
  });
  assert.deepEqual(issues({ tls_config: [{ ca_file: "/missing" }] }), [
    `tls_config.0.ca_file: cannot read "/missing": ENOENT: no such file or directory, open '/missing'`,
  ]);
});

test("a secret's file that cannot be read at load is taken, as Alloy reads it for each request; a certificate's is refused", () => {
  const unreadable = { path: "/missing", contents: "", unreadable: "ENOENT: no such file or directory, open '/missing'" };
  assert.deepEqual(endpoint({ bearer_token_file: "/missing" }).bearer_token_file, unreadable);
  assert.deepEqual(endpoint({ authorization: [{ credentials_file: "/missing" }] }).authorization?.credentials_file, unreadable);
  assert.deepEqual(endpoint({ basic_auth: [{ username: "u", password_file: "/missing" }] }).basic_auth?.password_file, unreadable);
  const oauth2 = { client_id: "id", client_secret_file: "/missing", token_url: "https://t" };
  assert.deepEqual(endpoint({ oauth2: [oauth2] }).oauth2?.client_secret_file, unreadable);
  assert.deepEqual(issues({ tls_config: [{ cert_file: "/missing", key_file: "/key.pem" }] }), [
    `tls_config.0.cert_file: cannot read "/missing": ENOENT: no such file or directory, open '/missing'`,
  ]);
});

test("an empty string sets no token and names no file, as in Alloy: an unset env() changes nothing", () => {
  const none = endpoint({ bearer_token: "", bearer_token_file: "", tls_config: [{ ca_file: "", cert_file: "", key_file: "" }] });
  assert.equal(none.bearer_token, undefined);
  assert.equal(none.bearer_token_file, undefined);
  assert.deepEqual([none.tls_config?.ca_file, none.tls_config?.cert_file, none.tls_config?.key_file], [undefined, undefined, undefined]);
  // No second auth method either.
  assert.deepEqual(issues({ bearer_token: "", basic_auth: [{ username: "u", password: "p" }] }), []);
  assert.deepEqual(issues({ bearer_token_file: "", authorization: [{ credentials: "c" }] }), []);
  // An empty password gives way to password_file.
  assert.deepEqual(issues({ basic_auth: [{ username: "u", password: "", password_file: "/secret" }] }), []);
  assert.deepEqual(issues({ basic_auth: [{ username: "u", password: "p", password_file: "/secret" }] }), [
    "basic_auth.0.password_file: set password or password_file, not both",
  ]);
  assert.equal(endpoint({ basic_auth: [{ username: "u", password_file: "" }] }).basic_auth?.password_file, undefined);
});

test("allows at most one of basic_auth, authorization, oauth2, bearer_token, bearer_token_file", () => {
  const oauth2 = [{ client_id: "c", client_secret: "s", token_url: "https://auth/token" }];
  const methods: Record<string, unknown> = {
    basic_auth: [{ username: "u" }],
    authorization: [{ credentials: "c" }],
    oauth2,
    bearer_token: "t",
    bearer_token_file: "/secret",
  };
  const names = Object.keys(methods);
  for (const [i, first] of names.entries()) {
    for (const second of names.slice(i + 1)) {
      assert.deepEqual(issues({ [first]: methods[first], [second]: methods[second] }), [
        `${second}: set at most one of basic_auth, authorization, oauth2, bearer_token, bearer_token_file`,
      ]);
    }
  }
});

test("authorization: type Bearer unless given, trimmed, never basic; credentials or credentials_file", () => {
  assert.equal(endpoint({ authorization: [{}] }).authorization?.type, "Bearer");
  assert.equal(endpoint({ authorization: [{ type: "  " }] }).authorization?.type, "Bearer");
  assert.equal(endpoint({ authorization: [{ type: " Token " }] }).authorization?.type, "Token");
  assert.deepEqual(issues({ authorization: [{ type: "BASIC" }] }), ['authorization.0.type: must not be "basic": use a basic_auth block']);
  assert.deepEqual(issues({ authorization: [{ credentials: "c", credentials_file: "/secret" }] }), [
    "authorization.0.credentials_file: set credentials or credentials_file, not both",
  ]);
  // An empty credentials (an unset env()) is no credentials, as in Alloy.
  assert.deepEqual(issues({ authorization: [{ credentials: "", credentials_file: "/secret" }] }), []);
});

test("oauth2: client_id, token_url and one client secret", () => {
  assert.deepEqual(issues({ oauth2: [{ client_id: "", token_url: "auth/token", client_secret: "s" }] }), [
    "oauth2.0.client_id: must not be empty",
    "oauth2.0.token_url: must be an absolute http:// or https:// URL",
  ]);
  assert.deepEqual(issues({ oauth2: [{ client_id: "c", token_url: "https://a" }] }), ["oauth2.0: oauth2 needs client_secret or client_secret_file"]);
  assert.deepEqual(issues({ oauth2: [{ client_id: "c", token_url: "https://a", client_secret: "" }] }), [
    "oauth2.0: oauth2 needs client_secret or client_secret_file",
  ]);
  assert.deepEqual(issues({ oauth2: [{ client_id: "c", token_url: "https://a", client_secret: "s", client_secret_file: "/secret" }] }), [
    "oauth2.0.client_secret_file: set client_secret or client_secret_file, not both",
  ]);
  assert.deepEqual(
    issues({ oauth2: [{ client_secret: "s" }] }).map((issue) => issue.split(":")[0]),
    ["oauth2.0.client_id", "oauth2.0.token_url"],
  );
});

test("oauth2: endpoint_params may not replace the scope that scopes sends", () => {
  const oauth2 = { client_id: "c", client_secret: "s", token_url: "https://a" };
  assert.deepEqual(issues({ oauth2: [{ ...oauth2, scopes: ["a"], endpoint_params: { scope: "b" } }] }), [
    "oauth2.0.endpoint_params.scope: scopes sets the scope parameter; remove it from endpoint_params",
  ]);
  assert.deepEqual(issues({ oauth2: [{ ...oauth2, endpoint_params: { scope: "b", grant_type: "x" } }] }), []);
});

test("tls_config: PEM or file for each part, a certificate with its key, Alloy's version names", () => {
  assert.deepEqual(issues({ tls_config: [{ ca_pem: "x", ca_file: "/ca.pem", cert_pem: "c", cert_file: "/cert.pem", key_pem: "k", key_file: "/key.pem" }] }), [
    "tls_config.0.ca_file: set ca_pem or ca_file, not both",
    "tls_config.0.cert_file: set cert_pem or cert_file, not both",
    "tls_config.0.key_file: set key_pem or key_file, not both",
  ]);
  assert.deepEqual(issues({ tls_config: [{ cert_pem: "c" }] }), ["tls_config.0.cert_pem: a client certificate needs its key: set key_pem or key_file"]);
  assert.deepEqual(issues({ tls_config: [{ key_pem: "k" }] }), ["tls_config.0.key_pem: a client key needs its certificate: set cert_pem or cert_file"]);
  assert.deepEqual(issues({ tls_config: [{ cert_file: "/cert.pem", key_pem: "k" }] }), []);
  // An empty PEM (an unset env()) is no PEM, as in Alloy.
  assert.deepEqual(issues({ tls_config: [{ cert_pem: "", ca_pem: "", ca_file: "/ca.pem" }] }), []);
  assert.equal(endpoint({ tls_config: [{ ca_pem: "" }] }).tls_config?.ca_pem, undefined);
  assert.deepEqual(issues({ tls_config: [{ min_version: "TLS1.2" }] }), ['tls_config.0.min_version: must be one of "TLS10", "TLS11", "TLS12", "TLS13"']);
  for (const version of ["TLS10", "TLS11", "TLS12", "TLS13"]) assert.deepEqual(issues({ tls_config: [{ min_version: version }] }), []);
});

test("proxy: Alloy's rules between proxy_url, no_proxy, proxy_from_environment and proxy_connect_header", () => {
  const header = { proxy_connect_header: { "X-Proxy": ["v"] } };
  assert.deepEqual(issues(header), ["proxy_connect_header: needs proxy_url or proxy_from_environment"]);
  assert.deepEqual(issues({ ...header, proxy_url: "http://proxy:3128" }), []);
  assert.deepEqual(issues({ ...header, proxy_from_environment: true }), []);
  assert.deepEqual(issues({ proxy_from_environment: true, proxy_url: "http://proxy:3128" }), ["proxy_url: set proxy_url or proxy_from_environment, not both"]);
  assert.deepEqual(issues({ proxy_from_environment: true, no_proxy: "internal" }), [
    "no_proxy: does not apply with proxy_from_environment: set NO_PROXY in the environment instead",
  ]);
  assert.deepEqual(issues({ no_proxy: "internal" }), ["no_proxy: needs proxy_url"]);
  assert.deepEqual(issues({ proxy_url: "socks5://proxy:1080" }), ["proxy_url: must be an absolute http:// or https:// URL"]);
  // An empty proxy_url or no_proxy (an unset env()) is unset, as in Alloy.
  assert.deepEqual(issues({ proxy_url: "", no_proxy: "" }), []);
  assert.deepEqual(issues({ proxy_url: "", proxy_from_environment: true }), []);
  assert.deepEqual(issues({ proxy_url: "", no_proxy: "localhost,.svc" }), [], "an unset sys.env() beside a no_proxy, as Alloy loads it");
});

test("proxy_url: credentials with a malformed %-escape are refused, as Go's url.Parse refuses them, without showing them", () => {
  const malformed = "proxy_url: its credentials hold a malformed %-escape (write % as %25)";
  assert.deepEqual(issues({ proxy_url: "http://relay:p%ss-s3cret@proxy:3128" }), [malformed]);
  assert.deepEqual(issues({ proxy_url: "http://relay:p%zz@proxy:3128" }), [malformed]);
  assert.deepEqual(issues({ proxy_url: "http://relay:s3cret%F@proxy:3128" }), [malformed]);
  assert.deepEqual(issues({ proxy_url: "http://re%lay@proxy:3128" }), [malformed]);
  const oauth2 = { client_id: "c", client_secret: "s", token_url: "https://a", proxy_url: "https://relay:p%ss-s3cret@proxy" };
  assert.deepEqual(issues({ oauth2: [oauth2] }), [`oauth2.0.${malformed}`]);
  assert.deepEqual(issues({ proxy_url: "http://relay:p%25ss-s3cret@proxy:3128" }), [], "a % written as %25");
});

test("proxy_url: escapes of bytes that are not UTF-8 are taken, as Go's url.Parse takes them", () => {
  assert.deepEqual(issues({ proxy_url: "http://u:p%FF@proxy:3128" }), []);
  assert.deepEqual(issues({ proxy_url: "http://r%C3lay:p%c3@proxy:3128" }), [], "a lone lead byte, in either case");
});

test("oauth2: the token endpoint's proxy follows the same rules", () => {
  const oauth2 = { client_id: "c", client_secret: "s", token_url: "https://a" };
  assert.deepEqual(issues({ oauth2: [{ ...oauth2, no_proxy: "internal", proxy_connect_header: { "X-P": ["v"] } }] }), [
    "oauth2.0.proxy_connect_header: needs proxy_url or proxy_from_environment",
    "oauth2.0.no_proxy: needs proxy_url",
  ]);
  assert.deepEqual(issues({ oauth2: [{ ...oauth2, proxy_url: "https://proxy", proxy_from_environment: true }] }), [
    "oauth2.0.proxy_url: set proxy_url or proxy_from_environment, not both",
  ]);
});

test("http_headers: lists of values; names must be valid and not reserved, in any case", () => {
  assert.deepEqual(issues({ http_headers: { "X-Ok": ["1"], "bad header": ["2"], authorization: ["3"], "User-Agent": ["4"] } }), [
    "http_headers.bad header: invalid HTTP header name",
    "http_headers.authorization: reserved header name: the HTTP client or an auth block sets it",
    "http_headers.User-Agent: reserved header name: the HTTP client or an auth block sets it",
  ]);
  assert.deepEqual(issues({ http_headers: { "X-Ok": "1" } }), ["http_headers.X-Ok: Invalid input: expected array, received string"]);
  // The endpoint's `headers` keeps accepting any valid name, as in Alloy.
  assert.deepEqual(issues({ headers: { Authorization: "Bearer x" } }), []);
});
