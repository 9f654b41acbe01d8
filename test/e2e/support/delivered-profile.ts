import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { gzippedPprof, type FakeTarget } from "@pyroscope-relay/testing";
import type { RelayProcess } from "./relay-process.js";

/** Sends a pprof profile named `profile` to the relay's receiver on `port` and waits until `target` received it: the request it got. */
export async function deliveredProfile(port: number, target: FakeTarget, relay: RelayProcess, profile: string): Promise<FakeTarget["requests"][number]> {
  const res = await fetch(`http://127.0.0.1:${port}/ingest?name=${profile}&format=pprof`, { method: "POST", body: gzippedPprof({ seed: 7 }) });
  assert.equal(res.status, 200, await res.text());
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(50)) {
    const sent = target.requests.find((r) => new URLSearchParams(r.query).get("name")?.startsWith(profile));
    if (sent) return sent;
  }
  assert.fail(`${profile} not delivered:\n${relay.output().slice(-3_000)}`);
}
