import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { KubernetesObjectWatch } from "./kubernetes-object-watch.js";
import { kubernetesDataDigest } from "./kubernetes-reads.js";
import type { KubernetesObjectConfig } from "./relay-config.js";

function objectOf(data: Record<string, string>, id = "remote.kubernetes.secret.creds"): KubernetesObjectConfig {
  return {
    id,
    request: { kind: "secret", namespace: "monitoring", name: "creds", client: { kind: "in-cluster" }, timeoutMs: 1_000 },
    pollFrequencyMs: 10,
    dataDigest: kubernetesDataDigest(data),
  };
}

/** A watch whose every read finds `{ password: "new" }`, with the changes it tells and its reads counted. */
function newDataWatch(): { watch: KubernetesObjectWatch; changes: string[]; reads: { count: number } } {
  const reads = { count: 0 };
  const changes: string[] = [];
  const watch = new KubernetesObjectWatch(
    async () => {
      reads.count++;
      return { password: "new" };
    },
    { changed: (object) => changes.push(object.id), readFailed: () => undefined, readAgain: () => undefined },
  );
  return { watch, changes, reads };
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

test("tells a change of an object's data once; a failing read once per outage, and its end", async (t) => {
  let current: Record<string, string> | Error = { password: "one" };
  let reads = 0;
  const events: string[] = [];
  const watch = new KubernetesObjectWatch(
    async () => {
      reads++;
      if (current instanceof Error) throw current;
      return current;
    },
    {
      changed: (object) => events.push(`changed ${object.id}`),
      readFailed: (object, error) => events.push(`failed ${object.id}: ${error.message}`),
      readAgain: (object) => events.push(`again ${object.id}`),
    },
  );
  t.after(() => watch.close());
  watch.watch([objectOf({ password: "one" })]);
  await until("a few reads", () => reads >= 3);
  assert.deepEqual(events, [], "the data loaded: no change");

  current = { password: "two" };
  await until("the change", () => events.length === 1);
  const readsAtChange = reads;
  await until("more reads", () => reads >= readsAtChange + 3);
  assert.deepEqual(events, ["changed remote.kubernetes.secret.creds"], "told once");

  current = new Error("secret monitoring/creds: 403 Forbidden");
  await until("the failure", () => events.length === 2);
  const readsAtFailure = reads;
  await until("more failing reads", () => reads >= readsAtFailure + 3);
  current = { password: "two" };
  await until("the end of the outage", () => events.length === 3);
  assert.deepEqual(events.slice(1), ["failed remote.kubernetes.secret.creds: secret monitoring/creds: 403 Forbidden", "again remote.kubernetes.secret.creds"]);
});

test("retry tells a change again at the next read; close stops reading", async () => {
  const { watch, changes, reads } = newDataWatch();
  const object = objectOf({ password: "old" });
  watch.watch([object]);
  await until("the change", () => changes.length === 1);
  watch.retry(object);
  await until("the change told again", () => changes.length === 2);
  assert.deepEqual(changes, ["remote.kubernetes.secret.creds", "remote.kubernetes.secret.creds"]);
  watch.close();
  const readsAtClose = reads.count;
  await sleep(50);
  assert.ok(reads.count <= readsAtClose + 2, `${reads.count - readsAtClose} reads after close`);
});

test("reloads more frequent than poll_frequency keep an object polled; components reading one object poll it once", async () => {
  const { watch, changes, reads } = newDataWatch();
  const slow = { ...objectOf({ password: "old" }), pollFrequencyMs: 60 };
  const sameObject = { ...slow, id: "profiles.feature/remote.kubernetes.secret.creds" };
  watch.watch([slow, sameObject]);
  // A reload every 20 ms, each as loaded before: the poll goes on at its own pace.
  const reloads = setInterval(() => watch.watch([slow, sameObject]), 20);
  await until("a read", () => reads.count >= 1);
  clearInterval(reloads);
  await until("the change", () => changes.length >= 1);
  watch.close();
  assert.deepEqual(changes, ["remote.kubernetes.secret.creds"], "one poll, one change, for both components");
});
