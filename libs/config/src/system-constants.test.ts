import { test } from "node:test";
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { goArch, goOs, systemConstants } from "./system-constants.js";

test("names platforms and architectures as Go does", () => {
  assert.equal(goOs("linux"), "linux");
  assert.equal(goOs("win32"), "windows");
  assert.equal(goOs("sunos"), "solaris");
  assert.equal(goArch("x64"), "amd64");
  assert.equal(goArch("ia32"), "386");
  assert.equal(goArch("arm64"), "arm64");
});

test("describes this machine", () => {
  assert.deepEqual(systemConstants(), {
    hostname: hostname(),
    os: goOs(process.platform),
    arch: goArch(process.arch),
    version: "v0.0.0",
  });
});
