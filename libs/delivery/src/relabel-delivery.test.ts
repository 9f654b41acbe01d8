import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { defaultRelabelRule, type RelabelRule, type RelabelStage } from "@pyroscope-relay/profile";
import { PushRequestSchema } from "@pyroscope-relay/proto";
import { gzippedPprof, startFakeTarget, targetConfig } from "@pyroscope-relay/testing";
import { counter, eventually, ingestData, redisForFile } from "./writer-harness.js";

const { relay } = await redisForFile();

const rule = (fields: Partial<RelabelRule>): RelabelRule => ({ ...defaultRelabelRule, ...fields });
/** Drops env=dev, then copies `pod` into `instance`. */
const stages: RelabelStage[] = [
  { component: "pyroscope.relabel.no_dev", rules: [rule({ sourceLabels: ["env"], regex: "dev", action: "drop" })] },
  { component: "pyroscope.relabel.instance", rules: [rule({ sourceLabels: ["pod"], targetLabel: "instance" })] },
];
const query = (env: string) => `name=shop%7Benv%3D${env}%2Cpod%3Dp-${env}%7D`;

test("/ingest: a target's relabel rules rewrite the name it gets, a dropped profile is not sent and its batch completes", async (t) => {
  const target = await startFakeTarget();
  const r = await relay(
    t,
    [targetConfig("all", { url: `${target.url}/all` }), targetConfig("relabeled", { url: `${target.url}/relabeled`, relabel: stages })],
    {
      fakes: [target],
    },
  );
  const batches: string[] = [];
  for (const env of ["prod", "dev", "qa"]) {
    batches.push((await r.enqueuer.enqueue(gzippedPprof(), ingestData({ query: query(env) }), ["all", "relabeled"])).batchId);
  }
  const requests = await target.waitForRequests(5);
  const names = (path: string) =>
    requests
      .filter((request) => request.path === path)
      .map((request) => new URLSearchParams(request.query).get("name"))
      .sort();
  assert.deepEqual(names("/all/ingest"), [
    "shop{env=dev,pod=p-dev,service_name=shop}",
    "shop{env=prod,pod=p-prod,service_name=shop}",
    "shop{env=qa,pod=p-qa,service_name=shop}",
  ]);
  assert.deepEqual(names("/relabeled/ingest"), [
    "shop{env=prod,instance=p-prod,pod=p-prod,service_name=shop}",
    "shop{env=qa,instance=p-qa,pod=p-qa,service_name=shop}",
  ]);
  await eventually("every batch released", async () => {
    for (const batch of batches) if (await r.batchExists(batch)) return undefined;
    return true;
  });
  assert.equal(target.requests.length, 5, "the dropped profile never went out");
  assert.equal(await counter(r.metrics.relabelDroppedProfiles, "relabeled", { component_id: "pyroscope.relabel.no_dev" }), 1);
  assert.equal(await counter(r.metrics.relabelDroppedProfiles, "all"), 0);
  assert.equal(await counter(r.metrics.writeSentProfiles, "relabeled"), 2);
});

test("Push: series a rule drops stay home, the others go with their labels relabeled; a Push all dropped sends nothing", async (t) => {
  const target = await startFakeTarget();
  const r = await relay(t, [targetConfig("relabeled", { url: target.url, relabel: stages })], { fakes: [target] });
  const push = (envs: string[]) =>
    toBinary(
      PushRequestSchema,
      create(PushRequestSchema, {
        series: envs.map((env, n) => ({
          labels: [
            { name: "__name__", value: "process_cpu" },
            { name: "service_name", value: "shop" },
            { name: "env", value: env },
            { name: "pod", value: `p-${n}` },
          ],
          samples: [{ rawProfile: gzippedPprof({ seed: n }), ID: `id-${n}` }],
        })),
      }),
    );
  const pushData = (series: number) => ({ kind: "push" as const, receivedAt: Date.now(), codec: "proto" as const, series });
  const mixed = await r.enqueuer.enqueue(push(["prod", "dev", "qa"]), pushData(3), ["relabeled"]);
  const allDev = await r.enqueuer.enqueue(push(["dev", "dev"]), pushData(2), ["relabeled"]);

  const [request] = await target.waitForRequests(1);
  const sent = fromBinary(PushRequestSchema, request!.body).series.map((series) => Object.fromEntries(series.labels.map(({ name, value }) => [name, value])));
  assert.deepEqual(sent, [
    // receive_http's rule keeps __name__ as app_name beside a service_name, as in Alloy.
    { __name__: "process_cpu", app_name: "process_cpu", env: "prod", instance: "p-0", pod: "p-0", service_name: "shop" },
    { __name__: "process_cpu", app_name: "process_cpu", env: "qa", instance: "p-2", pod: "p-2", service_name: "shop" },
  ]);
  await eventually("both batches released", async () => (!(await r.batchExists(mixed.batchId)) && !(await r.batchExists(allDev.batchId))) || undefined);
  assert.equal(target.requests.length, 1);
  assert.equal(await counter(r.metrics.relabelDroppedProfiles, "relabeled", { component_id: "pyroscope.relabel.no_dev" }), 3);
});
