import assert from "node:assert/strict";
import { test } from "node:test";
import { isLoopback } from "./admin-access.js";

test("only loopback addresses count as loopback", () => {
  for (const host of ["127.0.0.1", "127.1.2.3", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost"]) {
    assert.equal(isLoopback(host), true, host);
  }
  for (const host of ["", "0.0.0.0", "::", "10.0.0.1", "192.168.1.10", "::ffff:10.0.0.1", "fe80::1", "my-host", "128.0.0.1"]) {
    assert.equal(isLoopback(host), false, host);
  }
});
