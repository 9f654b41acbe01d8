import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { PushRequestSchema, RawSampleSchema } from "@pyroscope-relay/proto";
import type { PushRequest } from "@pyroscope-relay/proto";
import type { EnqueueData } from "@pyroscope-relay/queue";
import { gzippedPprof, startFakeTarget, type RecordedRequest } from "@pyroscope-relay/testing";
import { eventually, rawHeaderValues, redisForFile, targetConfig } from "./writer-harness.js";

const { relay } = await redisForFile();

const PUSH_PATH = "/push.v1.PusherService/Push";
const pushData = (tenant?: string): EnqueueData => ({
  kind: "push",
  receivedAt: Date.now(),
  codec: "proto",
  ...(tenant === undefined ? {} : { tenant }),
});

/** A stored Push request with three series of one sample each, told apart by `series=<n>`. */
function threeSeries(): PushRequest {
  return create(PushRequestSchema, {
    series: [1, 2, 3].map((n) => ({
      labels: [
        { name: "service_name", value: `svc-${n}` },
        { name: "__name__", value: "process_cpu" },
        { name: "__session_id__", value: "dropped" },
        { name: "__delta__", value: "false" },
        { name: "env", value: "dev" },
        { name: "series", value: String(n) },
      ],
      samples: [{ rawProfile: gzippedPprof({ seed: n }), ID: `00000000-0000-0000-0000-00000000000${n}` }],
    })),
  });
}

const decode = (request: RecordedRequest) => fromBinary(PushRequestSchema, request.body);
const seriesOf = (request: RecordedRequest) =>
  decode(request).series.map((s) => s.labels.find((l) => l.name === "series")?.value).join();

test("Push: one request per series, labels rewritten, samples byte-identical, Content-Type application/proto", async (t) => {
  const target = await startFakeTarget();
  const r = await relay(
    t,
    [targetConfig("a", `${target.url}/base`, { externalLabels: { env: "prod", cluster: "eu-1" } })],
    { fakes: [target] },
  );
  const stored = threeSeries();
  const { payloadId } = await r.enqueuer.enqueue(toBinary(PushRequestSchema, stored), pushData("tenant-1"), ["a"]);

  const requests = await target.waitForRequests(3);
  assert.deepEqual(requests.map(seriesOf), ["1", "2", "3"]);
  for (const [i, request] of requests.entries()) {
    assert.equal(request.method, "POST");
    assert.equal(request.path, `/base${PUSH_PATH}`);
    assert.deepEqual(rawHeaderValues(request.rawHeaders, "content-type"), ["application/proto"]);
    assert.deepEqual(rawHeaderValues(request.rawHeaders, "x-scope-orgid"), ["tenant-1"]);
    const [series, ...more] = decode(request).series;
    assert.equal(more.length, 0, "one series per request");
    // `__` labels other than __name__ and __delta__ dropped, receive_http's service-name rule
    // (service_name present: the app name is added as app_name), external labels override, sorted.
    assert.deepEqual(
      series!.labels.map((l) => [l.name, l.value]),
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
    const sent = series!.samples.map((s) => toBinary(RawSampleSchema, s));
    const original = stored.series[i]!.samples.map((s) => toBinary(RawSampleSchema, s));
    assert.deepEqual(sent, original);
    assert.deepEqual(series!.samples[0]!.rawProfile, stored.series[i]!.samples[0]!.rawProfile);
  }
  await eventually("the payload to be released", async () => !(await r.payloadExists(payloadId)));
  assert.equal(await r.queue("a").getJob(payloadId), undefined);
});

test("Push: a retry resumes after the series the target already accepted", async (t) => {
  const target = await startFakeTarget();
  let seen = 0;
  // The second request (series 2) is refused once.
  target.respond(() => (++seen === 2 ? { status: 503, body: "overloaded" } : undefined));
  const r = await relay(t, [targetConfig("a", target.url)], { fakes: [target] });
  const { payloadId } = await r.enqueuer.enqueue(toBinary(PushRequestSchema, threeSeries()), pushData(), ["a"]);

  const requests = await target.waitForRequests(4);
  await eventually("the payload to be released", async () => !(await r.payloadExists(payloadId)));
  assert.deepEqual(target.requests.map(seriesOf), ["1", "2", "2", "3"]);
  assert.equal(requests.length, 4);
  for (const request of requests) assert.deepEqual(rawHeaderValues(request.rawHeaders, "x-scope-orgid"), []);
});
