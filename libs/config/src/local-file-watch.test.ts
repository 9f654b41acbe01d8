import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { contentDigest } from "./content-digest.js";
import { LocalFileWatch } from "./local-file-watch.js";
import type { LocalFileConfig } from "./relay-config.js";

const dir = mkdtempSync(join(tmpdir(), "local-file-watch-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** A file holding `content`, as a configuration loaded with it lists it. */
function localFile(content: string, detector: LocalFileConfig["detector"], pollFrequencyMs: number): LocalFileConfig {
  const path = join(dir, `file-${++files}`);
  writeFileSync(path, content);
  return { label: `f${files}`, path, detector, pollFrequencyMs, contentDigest: contentDigest(content) };
}

/** A watch that counts the changes it tells, and the watches that failed. */
function counting(watched: readonly LocalFileConfig[]) {
  const changes: string[] = [];
  const failures: string[] = [];
  const watch = new LocalFileWatch({ changed: (file) => changes.push(file.label), watchFailed: (file) => failures.push(file.label) });
  watch.watch(watched);
  after(() => watch.close());
  return { watch, changes, failures };
}

async function until(probe: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 5_000; !probe(); await sleep(10)) {
    if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
  }
}

test("poll: tells a new content at the next poll, once, and not a file rewritten as it was", async () => {
  const file = localFile("one", "poll", 40);
  const { changes } = counting([file]);
  await sleep(150);
  assert.deepEqual(changes, [], "unchanged");
  writeFileSync(file.path, "one");
  await sleep(150);
  assert.deepEqual(changes, [], "rewritten with the same content");
  writeFileSync(file.path, "two");
  await until(() => changes.length === 1, "the change told");
  await sleep(150);
  assert.deepEqual(changes, [file.label], "told once");
});

test("fsnotify: tells a change at once, long before the poll, also after the file was replaced by a rename", async () => {
  const file = localFile("one", "fsnotify", 3_600_000);
  const { changes, failures } = counting([file]);
  writeFileSync(file.path, "two");
  await until(() => changes.length === 1, "a write told");
  // As a secret is rotated: written beside it, renamed over it. The watch follows the path.
  writeFileSync(`${file.path}.new`, "three");
  renameSync(`${file.path}.new`, file.path);
  await until(() => changes.length === 2, "a rename over it told");
  writeFileSync(file.path, "four");
  await until(() => changes.length === 3, "a write to the new file told");
  assert.deepEqual(failures, []);
});

test("fsnotify: a file that cannot be watched is polled until it can", async () => {
  const file = { ...localFile("one", "fsnotify", 40), path: join(dir, "not-yet") };
  const { changes, failures } = counting([file]);
  await until(() => failures.length > 0, "the failed watch told");
  await until(() => changes.length === 1, "unreadable: not the content loaded");
  writeFileSync(file.path, "one");
  await until(() => changes.length === 2, "readable again told");
});

test("tells a change made before the watch began, without waiting for a poll", async () => {
  const file = localFile("one", "poll", 3_600_000);
  writeFileSync(file.path, "two");
  const { changes } = counting([file]);
  await until(() => changes.length === 1, "the change since loading told");
});

test("a renewed watch starts from the new configuration; close stops it", async () => {
  const file = localFile("one", "poll", 40);
  const { watch, changes } = counting([file]);
  writeFileSync(file.path, "two");
  await until(() => changes.length === 1, "the change told");
  watch.watch([{ ...file, contentDigest: contentDigest("two") }]);
  await sleep(150);
  assert.equal(changes.length, 1, "the renewed watch holds the content it was loaded with");
  watch.close();
  writeFileSync(file.path, "three");
  await sleep(150);
  assert.equal(changes.length, 1, "closed");
});

test("retry: a change the reload could not take is told again at the next check, while the file still holds it", async () => {
  const file = localFile("one", "poll", 40);
  const { watch, changes } = counting([file]);
  writeFileSync(file.path, "two");
  await until(() => changes.length === 1, "the change told");
  watch.retry(file);
  await until(() => changes.length === 2, "the change told again");
  await sleep(150);
  assert.deepEqual(changes, [file.label, file.label], "told again once, not at every poll");
});

test("a poll frequency past what Node's timers hold is waited out, not taken as 1 ms", async () => {
  const file = localFile("one", "poll", 2 ** 40);
  const { changes } = counting([file]);
  await sleep(50);
  writeFileSync(file.path, "two");
  await sleep(150);
  assert.deepEqual(changes, [], "no poll yet");
});
