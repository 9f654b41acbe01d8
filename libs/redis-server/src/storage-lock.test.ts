import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { lockStoragePath } from "./storage-lock.js";

test("one directory is one lock, by whatever path; another directory is another; a release frees it", {
  skip: process.platform === "linux" ? false : "the storage path's lock is a Linux abstract socket",
}, async (t) => {
  const root = mkdtempSync(join(tmpdir(), "relay-lock-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, "data");
  const other = join(root, "other");
  mkdirSync(dir);
  mkdirSync(other);
  symlinkSync(dir, join(root, "alias"));

  const held = await lockStoragePath(dir);
  assert.ok(held !== undefined);
  assert.equal(await lockStoragePath(join(root, "alias")), undefined, "the same directory through a symlink is locked");
  assert.equal(await lockStoragePath(`${dir}/.`), undefined);
  const elsewhere = await lockStoragePath(other);
  assert.ok(elsewhere !== undefined, "another directory has a lock of its own");
  await held.release();
  const again = await lockStoragePath(join(root, "alias"));
  assert.ok(again !== undefined, "released, it can be taken again");
  await again.release();
  await elsewhere.release();
});
