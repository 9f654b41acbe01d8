import assert from "node:assert/strict";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { DeliveryError } from "./delivery-error.js";
import { fixedValue, secretSource, WatchedFile } from "./watched-file.js";

async function directory(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "watched-file-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test("reads the file, then again each time it changes: rewritten in place or renamed over", async (t) => {
  const file = join(await directory(t), "token");
  await writeFile(file, "first-token\n");
  const source = new WatchedFile(file, "bearer_token_file", (contents) => contents.trim());
  assert.equal(await source.read(), "first-token");
  assert.equal(await source.read(), "first-token");

  // Same size, rewritten in place.
  await writeFile(file, "other-token\n");
  assert.equal(await source.read(), "other-token");

  // Kubernetes swaps a secret's files by renaming.
  const next = `${file}.next`;
  await writeFile(next, "third-token\n");
  await rename(next, file);
  assert.equal(await source.read(), "third-token");
});

test("overlapping reads share one check and see the same value", async (t) => {
  const file = join(await directory(t), "token");
  await writeFile(file, "shared\n");
  const source = new WatchedFile(file, "bearer_token_file", (contents) => contents.trim());
  const reads = [source.read(), source.read(), source.read()];
  assert.equal(reads[0], reads[1], "one promise for overlapping reads");
  assert.deepEqual(await Promise.all(reads), ["shared", "shared", "shared"]);
});

test("a file that cannot be read is a `secret file` DeliveryError naming the attribute and the path, never the contents; it recovers", async (t) => {
  const file = join(await directory(t), "password");
  await writeFile(file, "pw-ROTATING-s3cret\n");
  const source = secretSource("ignored", file, "basic_auth password_file");
  assert.equal(await source.read(), "pw-ROTATING-s3cret");

  await rm(file);
  const error = await source.read().then(
    () => assert.fail("expected an error"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof DeliveryError);
  assert.equal(error.reason, "secret file");
  assert.equal(error.unreachable, false);
  assert.equal(error.message, `cannot read basic_auth password_file ${JSON.stringify(file)}: ENOENT`);
  assert.doesNotMatch(error.message, /s3cret/);
  assert.equal((error.cause as NodeJS.ErrnoException).code, "ENOENT");

  await writeFile(file, "pw-new\n");
  assert.equal(await source.read(), "pw-new");
});

test("a secret without a file is the configured value; a secret file loses the whitespace around it", async (t) => {
  assert.equal(await fixedValue("inline").read(), "inline");
  assert.equal(await secretSource("inline", undefined, "bearer_token_file").read(), "inline");
  const file = join(await directory(t), "token");
  await writeFile(file, " \ttoken\r\n\n");
  assert.equal(await secretSource("", file, "bearer_token_file").read(), "token");
});
