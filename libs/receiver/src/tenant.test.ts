import assert from "node:assert/strict";
import { test } from "node:test";
import { RequestError } from "@pyroscope-relay/ops";
import { tenantHeader, tenantOf } from "./tenant.js";

test("a tenant ID as Pyroscope takes it; none when absent or empty", () => {
  assert.equal(tenantOf("team-a_1.(prod)*'!"), "team-a_1.(prod)*'!");
  assert.equal(tenantOf(undefined), undefined);
  assert.equal(tenantOf(""), undefined);
});

test("sent on two lines, the first counts, as Go's Header.Get reads it; one line is one value, commas and all", () => {
  assert.equal(tenantHeader({ rawHeaders: ["Host", "h", "X-Scope-OrgID", " a ", "x-scope-orgid", "b"] }), "a");
  assert.equal(tenantHeader({ rawHeaders: ["x-scope-orgid", "a,b"] }), "a,b");
  assert.equal(tenantHeader({ rawHeaders: ["Host", "h"] }), undefined);
});

test("anything else is refused with a message naming the header", () => {
  for (const bad of ["team a", "a|b", "a,b", "a, b", ".", "..", "x".repeat(151)]) {
    assert.throws(
      () => tenantOf(bad),
      (error: unknown) => error instanceof RequestError && /^X-Scope-OrgID: /.test(error.rawMessage),
      bad,
    );
  }
});
