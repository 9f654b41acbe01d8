import assert from "node:assert/strict";
import { test } from "node:test";
import { noProxyMatcher, proxySelection } from "./proxy-selection.js";

const proxy = "http://proxy:3128/";
const via = (selection: ReturnType<typeof proxySelection>, url: string) => selection(new URL(url))?.href;

test("without a proxy every request goes straight to its target", () => {
  assert.equal(via(proxySelection(undefined, { HTTPS_PROXY: proxy }), "https://pyroscope"), undefined);
});

test("proxy_url alone: every request goes through it, loopback included (Go's http.ProxyURL)", () => {
  const selection = proxySelection({ kind: "url", url: proxy }, {});
  for (const url of ["http://pyroscope:4040", "https://pyroscope", "http://127.0.0.1:4040", "http://localhost"]) {
    assert.equal(via(selection, url), proxy, url);
  }
});

test("proxy_url with no_proxy: the hosts it lists, localhost and loopback go straight", () => {
  const selection = proxySelection({ kind: "url", url: proxy, noProxy: "internal.example, 10.0.0.0/8" }, {});
  assert.equal(via(selection, "https://pyroscope.example"), proxy);
  assert.equal(via(selection, "https://internal.example"), undefined);
  assert.equal(via(selection, "https://eu.internal.example"), undefined);
  assert.equal(via(selection, "http://10.1.2.3:4040"), undefined);
  assert.equal(via(selection, "http://11.1.2.3:4040"), proxy);
  assert.equal(via(selection, "http://127.0.0.1:4040"), undefined);
  assert.equal(via(selection, "http://[::1]:4040"), undefined);
  assert.equal(via(selection, "http://localhost:4040"), undefined);
});

test("proxy_from_environment: HTTP_PROXY for http, HTTPS_PROXY for https, upper case first, NO_PROXY", () => {
  const env = {
    HTTP_PROXY: "http://plain-proxy:3128",
    http_proxy: "http://ignored:1",
    https_proxy: "secure-proxy:3129",
    no_proxy: ".svc.cluster.local",
  };
  const selection = proxySelection({ kind: "environment" }, env);
  assert.equal(via(selection, "http://pyroscope.example"), "http://plain-proxy:3128/");
  // A bare host:port is read as an http proxy, as Go reads it.
  assert.equal(via(selection, "https://pyroscope.example"), "http://secure-proxy:3129/");
  assert.equal(via(selection, "https://pyroscope.monitoring.svc.cluster.local"), undefined);
  assert.equal(via(selection, "https://127.0.0.1"), undefined);
  assert.equal(via(proxySelection({ kind: "environment" }, { HTTP_PROXY: "http://p:1" }), "https://pyroscope"), undefined, "no HTTPS_PROXY");
  assert.equal(via(proxySelection({ kind: "environment" }, {}), "http://pyroscope"), undefined);
  assert.equal(via(proxySelection({ kind: "environment" }, { HTTPS_PROXY: "socks5://p:1080" }), "https://pyroscope"), undefined, "SOCKS is not spoken");
  assert.equal(via(proxySelection({ kind: "environment" }, { HTTPS_PROXY: "https://p:8443" }), "https://pyroscope"), "https://p:8443/");
});

test("NO_PROXY entries as Go reads them", () => {
  const cases: [string, string, string, boolean][] = [
    // [no_proxy, host, port, bypassed]
    ["*", "anything.example", "443", true],
    ["example.com", "example.com", "443", true],
    ["example.com", "api.example.com", "443", true],
    ["example.com", "notexample.com", "443", false],
    [".example.com", "example.com", "443", false],
    [".example.com", "api.example.com", "443", true],
    ["*.example.com", "example.com", "443", false],
    ["*.example.com", "api.example.com", "443", true],
    ["example.com:8443", "example.com", "443", false],
    ["example.com:8443", "example.com", "8443", true],
    ["EXAMPLE.com", "example.com", "443", true],
    ["10.0.0.1", "10.0.0.1", "80", true],
    ["10.0.0.1:8080", "10.0.0.1", "80", false],
    ["10.0.0.1:8080", "10.0.0.1", "8080", true],
    ["192.168.0.0/16", "192.168.7.9", "80", true],
    ["192.168.0.0/16", "192.169.0.1", "80", false],
    ["fd00::/8", "fd12::1", "80", true],
    ["[fd00::1]:8080", "fd00::1", "8080", true],
    ["fd00::1", "fd00::1", "8080", true],
    [" , ,bad/99,:80", "example.com", "443", false],
    ["", "localhost", "80", true],
    ["", "127.8.9.10", "80", true],
  ];
  for (const [noProxy, host, port, bypassed] of cases) {
    assert.equal(noProxyMatcher(noProxy)(host, port), bypassed, `${JSON.stringify(noProxy)} ${host}:${port}`);
  }
});
