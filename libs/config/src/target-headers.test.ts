import assert from "node:assert/strict";
import { test } from "node:test";
import { configuredHeaders, setsOwnTenant } from "./target-headers.js";

test("a target's own headers, from headers and http_headers, whatever their case", () => {
  assert.deepEqual([...configuredHeaders({ headers: { "X-Extra": "1" }, httpHeaders: { Authorization: ["Bearer t"] } })].sort(), ["authorization", "x-extra"]);
  assert.equal(setsOwnTenant({ headers: { "x-scope-orgid": "team-a" } }), true);
  assert.equal(setsOwnTenant({ headers: {}, httpHeaders: { "X-Scope-OrgID": ["team-b"] } }), true);
  assert.equal(setsOwnTenant({ headers: { "X-Extra": "1" } }), false);
});
