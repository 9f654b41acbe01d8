import assert from "node:assert/strict";
import { test } from "node:test";
import { hostName, isLoopback } from "./admin-access.js";

test("only loopback addresses count as loopback", () => {
  for (const host of ["127.0.0.1", "127.1.2.3", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost"]) {
    assert.equal(isLoopback(host), true, host);
  }
  for (const host of ["", "0.0.0.0", "::", "10.0.0.1", "192.168.1.10", "::ffff:10.0.0.1", "fe80::1", "my-host", "128.0.0.1"]) {
    assert.equal(isLoopback(host), false, host);
  }
});

test("the host of a Host header, without its port", () => {
  for (const [header, host] of [
    ["localhost:12345", "localhost"],
    ["127.0.0.1", "127.0.0.1"],
    ["[::1]:12345", "::1"],
    ["[::1]", "::1"],
    ["relay.example.com:80", "relay.example.com"],
  ] as const) {
    assert.equal(hostName(header), host, header);
  }
  for (const header of [undefined, "", "[::1", "a:b:c"]) assert.equal(hostName(header), undefined, String(header));
});
