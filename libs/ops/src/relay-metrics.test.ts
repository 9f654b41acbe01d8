import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RelayMetrics } from "./relay-metrics.js";

const primary = { target: "primary", endpoint: "http://pyroscope-a:4040" };

describe("RelayMetrics", () => {
  it("exports writer metrics under Alloy's names with target and endpoint labels", async () => {
    const metrics = new RelayMetrics();
    metrics.writeSentBytes.inc(primary, 1024);
    metrics.writeSentProfiles.inc(primary);
    metrics.writeRetries.inc(primary, 2);
    metrics.writeLatency.observe(primary, 0.2);
    const text = await metrics.metrics();
    assert.match(text, /^pyroscope_write_sent_bytes_total\{target="primary",endpoint="http:\/\/pyroscope-a:4040"\} 1024$/m);
    assert.match(text, /^pyroscope_write_sent_profiles_total\{target="primary",endpoint="[^"]+"\} 1$/m);
    assert.match(text, /^pyroscope_write_retries_total\{target="primary",endpoint="[^"]+"\} 2$/m);
    assert.match(text, /^pyroscope_write_latency_bucket\{le="0.25",target="primary",endpoint="[^"]+"\} 1$/m);
    for (const name of ["pyroscope_write_dropped_bytes_total", "pyroscope_write_dropped_profiles_total"]) {
      assert.match(text, new RegExp(`^# TYPE ${name} counter$`, "m"));
    }
  });

  it("exports receiver and relay metrics with their labels", async () => {
    const metrics = new RelayMetrics();
    const component = { component: "default" };
    metrics.receiveTcpConnections.set(component, 3);
    metrics.receiveTcpConnectionsLimit.set(component, 100);
    metrics.receiveRequestDuration.observe({ ...component, route: "/ingest", status_code: "200" }, 0.01);
    metrics.receivedProfiles.inc({ ...component, api: "ingest" });
    metrics.receivedBytes.inc({ ...component, api: "push" }, 512);
    metrics.rejectedRequests.inc({ ...component, api: "ingest", reason: "too_large" });
    metrics.enqueueFailures.inc(component);
    metrics.backlogFull.inc({ target: "primary", policy: "drop" });
    metrics.backlogDroppedProfiles.inc({ target: "primary" });
    metrics.backlogDroppedBytes.inc({ target: "primary" }, 2048);
    metrics.redisMemoryFull.set(1);
    const text = await metrics.metrics();
    for (const line of [
      'pyroscope_receive_http_tcp_connections{component="default"} 3',
      'pyroscope_receive_http_tcp_connections_limit{component="default"} 100',
      'pyroscope_receive_http_request_duration_seconds_count{component="default",route="/ingest",status_code="200"} 1',
      'pyroscope_relay_received_profiles_total{component="default",api="ingest"} 1',
      'pyroscope_relay_received_bytes_total{component="default",api="push"} 512',
      'pyroscope_relay_rejected_requests_total{component="default",api="ingest",reason="too_large"} 1',
      'pyroscope_relay_enqueue_failures_total{component="default"} 1',
      'pyroscope_relay_backlog_full_total{target="primary",policy="drop"} 1',
      'pyroscope_relay_backlog_dropped_profiles_total{target="primary"} 1',
      'pyroscope_relay_backlog_dropped_bytes_total{target="primary"} 2048',
      "pyroscope_relay_redis_memory_full 1",
    ]) {
      assert.ok(text.split("\n").includes(line), `missing ${line}`);
    }
  });

  it("includes process metrics", async () => {
    assert.match(await new RelayMetrics().metrics(), /^process_cpu_seconds_total /m);
  });

  it("reads queue depths from the source at every scrape and forgets what it stops reporting", async () => {
    const metrics = new RelayMetrics();
    let depths = [
      { target: "primary", state: "waiting", count: 7 },
      { target: "secondary", state: "failed", count: 2 },
    ];
    metrics.setQueueDepthSource(async () => depths);
    let text = await metrics.metrics();
    assert.match(text, /^pyroscope_relay_queue_jobs\{target="primary",state="waiting"\} 7$/m);
    assert.match(text, /^pyroscope_relay_queue_jobs\{target="secondary",state="failed"\} 2$/m);

    depths = [{ target: "primary", state: "waiting", count: 0 }];
    text = await metrics.metrics();
    assert.match(text, /^pyroscope_relay_queue_jobs\{target="primary",state="waiting"\} 0$/m);
    assert.doesNotMatch(text, /state="failed"/);
  });

  it("still answers a scrape when the queue depth source fails, and reports the error", async () => {
    const metrics = new RelayMetrics();
    const errors: unknown[] = [];
    let fail = false;
    metrics.setQueueDepthSource(
      async () => {
        if (fail) {
          throw new Error("Redis is down");
        }
        return [{ target: "primary", state: "waiting", count: 5 }];
      },
      (error) => errors.push(error),
    );
    assert.match(await metrics.metrics(), /^pyroscope_relay_queue_jobs\{[^}]+\} 5$/m);
    fail = true;
    metrics.writeSentProfiles.inc(primary);
    const text = await metrics.metrics();
    assert.doesNotMatch(text, /^pyroscope_relay_queue_jobs\{/m);
    assert.match(text, /^pyroscope_write_sent_profiles_total\{[^}]+\} 1$/m);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /Redis is down/);
  });

  it("keeps instances apart", async () => {
    const a = new RelayMetrics();
    const b = new RelayMetrics();
    a.writeSentProfiles.inc(primary);
    assert.doesNotMatch(await b.metrics(), /^pyroscope_write_sent_profiles_total\{/m);
  });
});
