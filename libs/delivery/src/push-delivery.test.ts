import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { PushRequestSchema, RawSampleSchema } from "@pyroscope-relay/proto";
import type { PushRequest } from "@pyroscope-relay/proto";
import { batchJobData, drainJobId, type ProfileFacts } from "@pyroscope-relay/queue";
import { gzippedPprof, startFakeTarget, targetConfig, type RecordedRequest } from "@pyroscope-relay/testing";
import { counter, eventually, failedJob, latencyCount, rawHeaderValues, redisForFile } from "./writer-harness.js";

const { relay } = await redisForFile();

const PUSH_PATH = "/push.v1.PusherService/Push";
const pushData = (series: number, tenant?: string): ProfileFacts => ({
  kind: "push",
  receivedAt: Date.now(),
  codec: "proto",
  series,
  ...(tenant === undefined ? {} : { tenant }),
});

/** A stored Push request with `count` series of one sample each, told apart by `series=<first + n>`. */
function pushOf(count: number, first = 1): PushRequest {
  return create(PushRequestSchema, {
    series: Array.from({ length: count }, (_, i) => first + i).map((n) => ({
      labels: [
        { name: "service_name", value: `svc-${n}` },
        { name: "__name__", value: "process_cpu" },
        { name: "__session_id__", value: "dropped" },
        { name: "__delta__", value: "false" },
        { name: "env", value: "dev" },
        { name: "series", value: String(n) },
      ],
      samples: [{ rawProfile: gzippedPprof({ seed: n }), ID: `00000000-0000-0000-0000-${String(n).padStart(12, "0")}` }],
    })),
  });
}

const decode = (request: RecordedRequest) => fromBinary(PushRequestSchema, request.body);
const seriesOf = (request: RecordedRequest) =>
  decode(request)
    .series.map((s) => s.labels.find((l) => l.name === "series")?.value)
    .join();

test("Push: the series of a batch go out combined, labels rewritten, samples byte-identical, Content-Type application/proto", async (t) => {
  const target = await startFakeTarget();
  const r = await relay(t, [targetConfig("a", { url: `${target.url}/base`, externalLabels: { env: "prod", cluster: "eu-1" }, remoteTimeoutMs: 7_000 })], {
    fakes: [target],
  });
  const stored = pushOf(3);
  const { batchId } = await r.enqueuer.enqueue(toBinary(PushRequestSchema, stored), pushData(3, "tenant-1"), ["a"]);

  const [request] = await target.waitForRequests(1);
  assert.equal(seriesOf(request!), "1,2,3");
  assert.equal(request!.method, "POST");
  assert.equal(request!.path, `/base${PUSH_PATH}`);
  assert.deepEqual(rawHeaderValues(request!.rawHeaders, "content-type"), ["application/proto"]);
  assert.deepEqual(rawHeaderValues(request!.rawHeaders, "x-scope-orgid"), ["tenant-1"]);
  assert.deepEqual(rawHeaderValues(request!.rawHeaders, "connect-timeout-ms"), ["7000"], "remote_timeout, as a Connect client sends its deadline");
  decode(request!).series.forEach((series, i) => {
    // `__` labels other than __name__ and __delta__ dropped, receive_http's service-name rule
    // (service_name present: the app name is added as app_name), external labels override, sorted.
    assert.deepEqual(
      series.labels.map((l) => [l.name, l.value]),
      [
        ["__delta__", "false"],
        ["__name__", "process_cpu"],
        ["app_name", "process_cpu"],
        ["cluster", "eu-1"],
        ["env", "prod"],
        ["series", String(i + 1)],
        ["service_name", `svc-${i + 1}`],
      ],
    );
    const sent = series.samples.map((s) => toBinary(RawSampleSchema, s));
    const original = stored.series[i]!.samples.map((s) => toBinary(RawSampleSchema, s));
    assert.deepEqual(sent, original);
  });
  await eventually("the batch to be released", async () => !(await r.batchExists(batchId)));
  assert.equal(await r.queue("a").getJob(drainJobId(batchId)), undefined);
  assert.equal(await counter(r.metrics.writeSentProfiles, "a"), 3);
  assert.equal(await latencyCount(r.metrics.writeLatency, "a", { type: "push_downstream" }), target.requests.length);
  assert.equal(await latencyCount(r.metrics.writeLatency, "a", { type: "ingest_downstream" }), 0);
});

test("Push: sent profiles and bytes count samples and their raw profiles, as Alloy counts them", async (t) => {
  const target = await startFakeTarget();
  const r = await relay(t, [targetConfig("a", { url: target.url })], { fakes: [target] });
  const raws = [Buffer.alloc(100, 1), Buffer.alloc(2_000, 2), Buffer.alloc(30_000, 3)];
  const stored = create(PushRequestSchema, {
    series: [{ labels: [{ name: "service_name", value: "svc" }], samples: raws.map((rawProfile, i) => ({ rawProfile, ID: `id-${i}` })) }],
  });
  await r.enqueuer.enqueue(toBinary(PushRequestSchema, stored), pushData(1), ["a"]);
  await eventually("the series delivered", async () => (await counter(r.metrics.writeSentProfiles, "a")) > 0);
  assert.equal(await counter(r.metrics.writeSentProfiles, "a"), 3, "one per sample");
  assert.equal(await counter(r.metrics.writeSentBytes, "a"), 32_100, "the raw profiles' bytes, not the request body's");
});

test("Push: profiles of several clients in one flush share requests per tenant, within the bounds", async (t) => {
  const target = await startFakeTarget();
  const r = await relay(t, [targetConfig("a", { url: target.url })], { fakes: [target] });
  await Promise.all([
    r.enqueuer.enqueue(toBinary(PushRequestSchema, pushOf(2, 1)), pushData(2, "t1"), ["a"]),
    r.enqueuer.enqueue(toBinary(PushRequestSchema, pushOf(1, 3)), pushData(1, "t2"), ["a"]),
    r.enqueuer.enqueue(toBinary(PushRequestSchema, pushOf(70, 4)), pushData(70, "t1"), ["a"]),
  ]);
  const requests = await target.waitForRequests(3);
  const byTenant = requests.map((request) => [rawHeaderValues(request.rawHeaders, "x-scope-orgid")[0], decode(request).series.length]);
  // t1 has 72 series: 64 in the first request (the bound), 8 in the second; t2 its own request.
  assert.deepEqual(
    byTenant.sort(),
    [
      ["t1", 64],
      ["t1", 8],
      ["t2", 1],
    ].sort(),
  );
  await eventually("every series delivered", async () => (await counter(r.metrics.writeSentProfiles, "a")) === 73);
});

test("a combined Push answered 400 for one series delivers all the others; that series fails alone", async (t) => {
  const target = await startFakeTarget();
  // Pyroscope refuses a whole request that contains a bad series.
  target.respond((request) =>
    decode(request).series.some((s) => s.labels.some((l) => l.name === "series" && l.value === "6"))
      ? { status: 400, body: '{"code":"invalid_argument","message":"series 6 is malformed"}' }
      : undefined,
  );
  const r = await relay(t, [targetConfig("a", { url: target.url })], { fakes: [target] });
  const { batchId } = await r.enqueuer.enqueue(toBinary(PushRequestSchema, pushOf(10)), pushData(10), ["a"]);

  const failed = await failedJob(r.queue("a"), batchId);
  const delivered = target.requests.filter((request) => !decode(request).series.some((s) => s.labels.some((l) => l.value === "6")));
  const accepted = delivered.flatMap((request) => seriesOf(request).split(",")).sort((a, b) => Number(a) - Number(b));
  t.diagnostic(`${target.requests.length} requests: ${target.requests.map(seriesOf).join(" | ")}`);
  assert.deepEqual(accepted, ["1", "2", "3", "4", "5", "7", "8", "9", "10"], "every other series accepted once");
  assert.ok(target.requests.length <= 1 + 2 * Math.ceil(Math.log2(10)), "narrowed down by halves");
  assert.equal(failed.failedReason, 'connect invalid_argument: {"code":"invalid_argument","message":"series 6 is malformed"}');
  const data = batchJobData.parse(failed.data);
  assert.deepEqual(
    data.profiles.map((ref) => ref.deliveredParts),
    [[0, 1, 2, 3, 4, 6, 7, 8, 9]],
    "a replay sends series 6 alone",
  );
  assert.equal(await counter(r.metrics.failedProfiles, "a", { reason: "connect invalid_argument" }), 1);
});

test("a combined Push refused for being sent at all (permission_denied) is not narrowed: one request, every series failed", async (t) => {
  const target = await startFakeTarget();
  target.respond(() => ({ status: 403, body: '{"code":"permission_denied","message":"tenant not allowed"}' }));
  const r = await relay(t, [targetConfig("a", { url: target.url })], { fakes: [target] });
  const { batchId } = await r.enqueuer.enqueue(toBinary(PushRequestSchema, pushOf(10)), pushData(10), ["a"]);

  const failed = await failedJob(r.queue("a"), batchId);
  assert.equal(target.requests.length, 1, `no halves: ${target.requests.map(seriesOf).join(" | ")}`);
  assert.match(failed.failedReason, /^connect permission_denied: /);
  assert.equal(await counter(r.metrics.failedProfiles, "a", { reason: "connect permission_denied" }), 1);
});

test("Push: a retry sends only the series left; a series refused for good is split off with what it need not resend", async (t) => {
  const target = await startFakeTarget();
  let refusedThree = false;
  target.respond((request) => {
    const series = seriesOf(request).split(",");
    if (series.includes("2")) return { status: 400, body: '{"code":"invalid_argument","message":"bad series"}' };
    if (series.includes("3") && !refusedThree) {
      refusedThree = true;
      return { status: 503, body: "overloaded" };
    }
    return undefined;
  });
  const r = await relay(t, [targetConfig("a", { url: target.url })], { fakes: [target] });
  const { batchId } = await r.enqueuer.enqueue(toBinary(PushRequestSchema, pushOf(4)), pushData(4), ["a"]);

  const split = await failedJob(r.queue("a"), `${batchId}.0.1`);
  await eventually("the batch to complete", async () => (await r.queue("a").getJob(drainJobId(batchId))) === undefined);
  assert.deepEqual(target.requests.map(seriesOf), ["1,2,3,4", "1,2", "1", "2", "3,4", "3,4"]);
  assert.deepEqual(
    batchJobData.parse(split.data).profiles.map((ref) => ref.deliveredParts),
    [[0, 2, 3]],
  );
  assert.match(split.failedReason, /^connect invalid_argument: .*bad series/);
});
