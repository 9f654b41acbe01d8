import assert from "node:assert/strict";
import { test } from "node:test";
import { KubernetesReadMemory } from "./kubernetes-read-memory.js";
import type { KubernetesObjectRequest } from "./relay-config.js";

const request = (name: string): KubernetesObjectRequest => ({
  kind: "secret",
  namespace: "monitoring",
  name,
  client: { kind: "in-cluster" },
  timeoutMs: 1_000,
});

test("a read that fails gives the data read last, fresh or by an earlier fallback's read, and says so; an object never read fails", async () => {
  let answer: Record<string, string> | Error = { password: "one" };
  const memory = new KubernetesReadMemory(async () => {
    if (answer instanceof Error) throw answer;
    return answer;
  });
  const stale: string[] = [];
  const read = memory.orLastRead((req, error) => stale.push(`${req.name}: ${(error as Error).message}`));
  assert.deepEqual(await read(request("creds")), { password: "one" });
  answer = { password: "two" };
  assert.deepEqual(await memory.fresh(request("creds")), { password: "two" }, "a poll's read is remembered too");
  answer = new Error("503 Service Unavailable");
  assert.deepEqual(await read(request("creds")), { password: "two" });
  assert.deepEqual(stale, ["creds: 503 Service Unavailable"]);
  await assert.rejects(read(request("other")), /503 Service Unavailable/);
  await assert.rejects(memory.fresh(request("creds")), /503/, "fresh never falls back");
});
