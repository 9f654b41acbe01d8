import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { relayVersion } from "./version.js";

test("reads the version of the repository's package.json", () => {
  assert.match(relayVersion(), /^\d+\.\d+\.\d+/);
  const dir = mkdtempSync(join(tmpdir(), "relay-version-"));
  try {
    const file = join(dir, "package.json");
    writeFileSync(file, JSON.stringify({ name: "pyroscope-relay", version: "1.2.3-rc.1" }));
    assert.equal(relayVersion(pathToFileURL(file)), "1.2.3-rc.1");
    writeFileSync(file, JSON.stringify({ name: "pyroscope-relay" }));
    assert.throws(() => relayVersion(pathToFileURL(file)), { message: `${file} has no version` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
