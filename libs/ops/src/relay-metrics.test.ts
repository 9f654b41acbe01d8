import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { QueueStateReading } from "./queue-state-metrics.js";
import { RelayMetrics } from "./relay-metrics.js";

const primary = { target: "primary", endpoint: "http://pyroscope-a:4040" };

function reading(
  target: string,
  { waiting = 0, failed = 0, purged = 0, circuitOpen = false }: { waiting?: number; failed?: number; purged?: number; circuitOpen?: boolean },
): QueueStateReading {
  return {
    target,
    endpoint: `http://${target}`,
    jobs: { waiting, delayed: 0, active: 0, failed, prioritized: 0 },
    backlog: { bytes: waiting * 100, profiles: waiting },
    oldestWaitingAgeSeconds: waiting > 0 ? 1.5 : 0,
    circuitOpen,
    deliveredProfiles: 40,
    discarded: [{ reason: "purge", profiles: purged, bytes: purged * 100 }],
  };
}

describe("RelayMetrics", () => {
  it("exports writer metrics under Alloy's names with target and endpoint labels", async () => {
    const metrics = new RelayMetrics();
    metrics.writeSentBytes.inc(primary, 1024);
    metrics.writeSentProfiles.inc(primary);
    metrics.writeRetries.inc(primary, 2);
    metrics.writeLatency.observe({ ...primary, type: "push_downstream" }, 0.2);
    metrics.writeDroppedProfiles.inc({ ...primary, reason: "backlog_full" });
    metrics.writeDroppedBytes.inc({ ...primary, reason: "backlog_full" }, 10);
    metrics.failedProfiles.inc({ ...primary, reason: "http 400" }, 3);
    metrics.failedBytes.inc({ ...primary, reason: "http 400" }, 30);
    const text = await metrics.metrics();
    assert.match(text, /^pyroscope_write_sent_bytes_total\{target="primary",endpoint="http:\/\/pyroscope-a:4040"\} 1024$/m);
    assert.match(text, /^pyroscope_write_sent_profiles_total\{target="primary",endpoint="[^"]+"\} 1$/m);
    assert.match(text, /^pyroscope_write_retries_total\{target="primary",endpoint="[^"]+"\} 2$/m);
    assert.match(text, /^pyroscope_write_latency_bucket\{le="0.25",target="primary",endpoint="[^"]+",type="push_downstream"\} 1$/m);
    // Alloy's default buckets (Prometheus' DefBuckets).
    assert.deepEqual(
      [...text.matchAll(/^pyroscope_write_latency_bucket\{le="([^"]+)"/gm)].map((m) => m[1]),
      ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"],
    );
    assert.match(text, /^pyroscope_write_dropped_profiles_total\{target="primary",endpoint="[^"]+",reason="backlog_full"\} 1$/m);
    assert.match(text, /^pyroscope_write_dropped_bytes_total\{target="primary",endpoint="[^"]+",reason="backlog_full"\} 10$/m);
    assert.match(text, /^pyroscope_relay_failed_profiles_total\{target="primary",endpoint="[^"]+",reason="http 400"\} 3$/m);
    assert.match(text, /^pyroscope_relay_failed_bytes_total\{target="primary",endpoint="[^"]+",reason="http 400"\} 30$/m);
  });

  it("exports the build info", async () => {
    const metrics = new RelayMetrics();
    metrics.setBuildInfo("1.2.3");
    const text = await metrics.metrics();
    assert.ok(text.split("\n").includes(`pyroscope_relay_build_info{version="1.2.3",nodejs_version="${process.version}"} 1`), text);
  });

  it("exports receiver and relay metrics with their labels", async () => {
    const metrics = new RelayMetrics();
    const component = { component: "default" };
    metrics.receiveTcpConnections.set(component, 3);
    metrics.receiveTcpConnectionsLimit.set(component, 100);
    metrics.receiveRequestDuration.observe({ ...component, route: "/ingest", status_code: "200" }, 0.01);
    metrics.debuginfoDownstreamCalls.inc({ ...component, method: "ShouldInitiateUpload", result: "failure" });
    metrics.receivedProfiles.inc({ ...component, api: "ingest" });
    metrics.receivedBytes.inc({ ...component, api: "push" }, 512);
    metrics.rejectedRequests.inc({ ...component, api: "ingest", reason: "too_large" });
    metrics.enqueueFailures.inc(component);
    metrics.backlogFull.inc({ target: "primary", policy: "drop" });
    metrics.backlogDroppedProfiles.inc({ target: "primary" });
    metrics.backlogDroppedBytes.inc({ target: "primary" }, 2048);
    metrics.redisMemoryFull.set(1);
    metrics.redisMastersShortOfReplicas.set(2);
    let held = 4096;
    metrics.readInflightBodyBytes(() => held);
    metrics.inflightBodyBytesLimit.set(8192);
    metrics.inflightBodyRefused.inc({ ...component, api: "push" });
    metrics.flushDuration.observe({ outcome: "stored" }, 0.003);
    metrics.flushProfiles.observe(12);
    const text = await metrics.metrics();
    for (const line of [
      'pyroscope_receive_http_tcp_connections{component="default"} 3',
      'pyroscope_receive_http_tcp_connections_limit{component="default"} 100',
      'pyroscope_receive_http_request_duration_seconds_count{component="default",route="/ingest",status_code="200"} 1',
      'pyroscope_receive_http_debuginfo_downstream_calls_total{component="default",method="ShouldInitiateUpload",result="failure"} 1',
      'pyroscope_relay_received_profiles_total{component="default",api="ingest"} 1',
      'pyroscope_relay_received_bytes_total{component="default",api="push"} 512',
      'pyroscope_relay_rejected_requests_total{component="default",api="ingest",reason="too_large"} 1',
      'pyroscope_relay_enqueue_failures_total{component="default"} 1',
      'pyroscope_relay_backlog_full_total{target="primary",policy="drop"} 1',
      'pyroscope_relay_backlog_dropped_profiles_total{target="primary"} 1',
      'pyroscope_relay_backlog_dropped_bytes_total{target="primary"} 2048',
      "pyroscope_relay_redis_memory_full 1",
      "pyroscope_relay_redis_masters_short_of_replicas 2",
      "pyroscope_relay_inflight_body_bytes 4096",
      "pyroscope_relay_inflight_body_bytes_limit 8192",
      'pyroscope_relay_inflight_body_refused_total{component="default",api="push"} 1',
      'pyroscope_relay_flush_duration_seconds_bucket{le="0.0025",outcome="stored"} 0',
      'pyroscope_relay_flush_duration_seconds_bucket{le="0.005",outcome="stored"} 1',
      'pyroscope_relay_flush_profiles_bucket{le="8"} 0',
      'pyroscope_relay_flush_profiles_bucket{le="16"} 1',
      "pyroscope_relay_flush_profiles_sum 12",
    ]) {
      assert.ok(text.split("\n").includes(line), `missing ${line}`);
    }
    held = 0;
    assert.ok((await metrics.metrics()).split("\n").includes("pyroscope_relay_inflight_body_bytes 0"), "the body bytes are read at every scrape");
  });

  it("includes process metrics", async () => {
    assert.match(await new RelayMetrics().metrics(), /^process_cpu_seconds_total /m);
  });

  it("reads the queue state at every scrape, and forgets what it stops reporting", async () => {
    const metrics = new RelayMetrics();
    let readings: QueueStateReading[] | undefined = [reading("primary", { waiting: 7, failed: 2, purged: 4 }), reading("secondary", { circuitOpen: true })];
    metrics.setQueueStateSource(async () => readings);
    let text = await metrics.metrics();
    for (const line of [
      "pyroscope_relay_queue_state_exporter 1",
      'pyroscope_relay_queue_jobs{target="primary",state="waiting"} 7',
      'pyroscope_relay_queue_jobs{target="primary",state="failed"} 2',
      'pyroscope_relay_queue_jobs{target="primary",state="prioritized"} 0',
      'pyroscope_relay_queue_backlog_bytes{target="primary"} 700',
      'pyroscope_relay_queue_backlog_profiles{target="primary"} 7',
      'pyroscope_relay_queue_oldest_waiting_age_seconds{target="primary"} 1.5',
      'pyroscope_relay_circuit_open{target="primary"} 0',
      'pyroscope_relay_circuit_open{target="secondary"} 1',
      'pyroscope_relay_queue_delivered_profiles_total{target="primary"} 40',
      'pyroscope_write_dropped_profiles_total{target="primary",endpoint="http://primary",reason="purge"} 4',
      'pyroscope_write_dropped_bytes_total{target="primary",endpoint="http://primary",reason="purge"} 400',
    ]) {
      assert.ok(text.split("\n").includes(line), `missing ${line}`);
    }

    // Redis' totals are the counters' values, not increments; a target no longer reported is gone.
    readings = [reading("primary", { waiting: 1, purged: 5 })];
    metrics.writeDroppedProfiles.inc({ target: "primary", endpoint: "http://primary", reason: "backlog_full" });
    text = await metrics.metrics();
    assert.match(text, /^pyroscope_write_dropped_profiles_total\{target="primary",endpoint="http:\/\/primary",reason="purge"\} 5$/m);
    assert.match(text, /^pyroscope_relay_queue_jobs\{target="primary",state="waiting"\} 1$/m);
    assert.doesNotMatch(text, /target="secondary"/);

    // Redis lost its last increments (a failover): the counters do not go down.
    readings = [{ ...reading("primary", { purged: 3 }), deliveredProfiles: 38 }];
    text = await metrics.metrics();
    assert.match(text, /^pyroscope_write_dropped_profiles_total\{target="primary",endpoint="http:\/\/primary",reason="purge"\} 5$/m);
    assert.match(text, /^pyroscope_relay_queue_delivered_profiles_total\{target="primary"\} 40$/m);
    readings = [{ ...reading("primary", { purged: 4 }), deliveredProfiles: 41 }];
    text = await metrics.metrics();
    assert.match(text, /^pyroscope_write_dropped_profiles_total\{target="primary",endpoint="http:\/\/primary",reason="purge"\} 6$/m);
    assert.match(text, /^pyroscope_relay_queue_delivered_profiles_total\{target="primary"\} 43$/m);

    // Another process exports the queue state: none here, but this process' own drops stay.
    readings = undefined;
    text = await metrics.metrics();
    assert.match(text, /^pyroscope_relay_queue_state_exporter 0$/m);
    assert.doesNotMatch(text, /^pyroscope_relay_(queue_jobs|queue_backlog_bytes|queue_delivered_profiles_total|circuit_open)\{/m);
    assert.doesNotMatch(text, /reason="purge"/);
    assert.match(text, /^pyroscope_write_dropped_profiles_total\{target="primary",endpoint="http:\/\/primary",reason="backlog_full"\} 1$/m);
  });

  it("still answers a scrape when the queue state source fails, and reports the error", async () => {
    const metrics = new RelayMetrics();
    const errors: unknown[] = [];
    let fail = false;
    metrics.setQueueStateSource(
      async () => {
        if (fail) {
          throw new Error("Redis is down");
        }
        return [reading("primary", { waiting: 5 })];
      },
      (error) => errors.push(error),
    );
    assert.match(await metrics.metrics(), /^pyroscope_relay_queue_jobs\{target="primary",state="waiting"\} 5$/m);
    fail = true;
    metrics.writeSentProfiles.inc(primary);
    const text = await metrics.metrics();
    assert.doesNotMatch(text, /^pyroscope_relay_queue_jobs\{/m);
    assert.match(text, /^pyroscope_relay_queue_state_exporter 0$/m);
    assert.match(text, /^pyroscope_write_sent_profiles_total\{[^}]+\} 1$/m);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /Redis is down/);
  });

  it("answers within the deadline when the queue state source hangs, and waits for that same reading next time", async () => {
    const metrics = new RelayMetrics();
    const errors: unknown[] = [];
    let reads = 0;
    let answer: ((readings: QueueStateReading[]) => void) | undefined;
    metrics.setQueueStateSource(
      () => {
        reads++;
        return new Promise((resolve) => (answer = resolve));
      },
      (error) => errors.push(error),
      50,
    );
    for (let scrape = 0; scrape < 2; scrape++) {
      const started = Date.now();
      assert.match(await metrics.metrics(), /^pyroscope_relay_queue_state_exporter 0$/m);
      assert.ok(Date.now() - started < 1_000);
    }
    assert.equal(reads, 1, "one reading under way at a time");
    assert.match(String(errors[1]), /not read within 50 ms/);
    // The third scrape waits for the same reading, which comes within its deadline.
    const third = metrics.metrics();
    answer!([reading("primary", { waiting: 3 })]);
    assert.match(await third, /^pyroscope_relay_queue_jobs\{target="primary",state="waiting"\} 3$/m);
    assert.equal(reads, 1);
  });

  it("scrapes queued behind one that waits on a hanging source share its deadline, not one each in turn", async () => {
    const metrics = new RelayMetrics();
    metrics.setQueueStateSource(
      () => new Promise(() => undefined),
      () => undefined,
      500,
    );
    const started = Date.now();
    const texts = await Promise.all(Array.from({ length: 8 }, () => metrics.metrics()));
    const elapsed = Date.now() - started;
    for (const text of texts) assert.match(text, /^pyroscope_relay_queue_state_exporter 0$/m);
    // One deadline each in turn would take 8 x 500 ms.
    assert.ok(elapsed < 2_000, `8 scrapes took ${elapsed} ms`);
  });

  it("a scrape that waited behind another takes the reading that came meanwhile, not a fresh one past its deadline", async () => {
    const metrics = new RelayMetrics();
    let reads = 0;
    metrics.setQueueStateSource(
      async () => {
        reads++;
        await new Promise((resolve) => setTimeout(resolve, 400));
        return [reading("primary", { waiting: reads })];
      },
      () => undefined,
      500,
    );
    const first = metrics.metrics();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const texts = await Promise.all([first, metrics.metrics()]);
    for (const text of texts) assert.match(text, /^pyroscope_relay_queue_jobs\{target="primary",state="waiting"\} 1$/m);
    assert.equal(reads, 1);
    // Asked for after that reading came: a reading of its own.
    assert.match(await metrics.metrics(), /^pyroscope_relay_queue_jobs\{target="primary",state="waiting"\} 2$/m);
  });

  it("concurrent scrapes each see one whole reading", async () => {
    const metrics = new RelayMetrics();
    let n = 0;
    metrics.setQueueStateSource(async () => {
      const waiting = ++n;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return [reading("primary", { waiting }), reading(`only-${waiting}`, {})];
    });
    // The second was asked for before the first's reading came: it takes that one.
    const texts = await Promise.all([metrics.metrics(), metrics.metrics()]);
    texts.push(await metrics.metrics());
    for (const [i, text] of texts.entries()) {
      assert.match(text, new RegExp(`^pyroscope_relay_queue_jobs\\{target="primary",state="waiting"\\} ${[1, 1, 2][i]}$`, "m"));
      assert.equal(text.match(/^pyroscope_relay_circuit_open\{/gm)?.length, 2, "this scrape's two targets only");
    }
  });

  it("keeps instances apart", async () => {
    const a = new RelayMetrics();
    const b = new RelayMetrics();
    a.writeSentProfiles.inc(primary);
    assert.doesNotMatch(await b.metrics(), /^pyroscope_write_sent_profiles_total\{/m);
  });
});
