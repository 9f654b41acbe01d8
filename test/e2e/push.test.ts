import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { PusherService, PushRequestSchema } from "@pyroscope-relay/proto";
import { gzippedPprof, startFakeTarget, startRedisServer, freePort } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisServerHandle } from "@pyroscope-relay/testing";
import { relayConfig } from "./support/relay-config.js";
import { startRelayProcess } from "./support/relay-process.js";
import type { RelayProcess } from "./support/relay-process.js";

describe("pyroscope-relay run: Push API reaches every target, the series of a batch combined", () => {
  let redis: RedisServerHandle;
  let a: FakeTarget;
  let b: FakeTarget;
  let relay: RelayProcess;
  let baseUrl: string;

  before(async () => {
    redis = await startRedisServer();
    a = await startFakeTarget();
    b = await startFakeTarget();
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    relay = await startRelayProcess({
      args: [`--redis.url=${redis.url}`],
      config: relayConfig({
        port,
        targets: [
          { name: "a", url: a.url, endpoint: `bearer_token = "tok-123"`, write: `external_labels = { "env" = "prod", "region" = "" }` },
          { name: "b", url: b.url },
        ],
      }),
    });
  });

  after(async () => {
    await relay?.stop();
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  const transports: [string, () => Transport][] = [
    ["Connect proto", () => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true })],
    ["Connect JSON", () => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false })],
    ["gRPC-Web", () => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
  ];

  for (const [protocol, transport] of transports) {
    it(`${protocol}: labels rewritten as Alloy does, samples byte for byte`, async () => {
      const cpu = gzippedPprof({ seed: 10 });
      const mem = gzippedPprof({ seed: 11 });
      const n = a.requests.length;
      const client = createClient(PusherService, transport());
      await client.push(
        {
          series: [
            {
              labels: [
                { name: "__name__", value: "process_cpu" },
                { name: "service_name", value: "checkout" },
                { name: "region", value: "eu" },
                { name: "__session_id__", value: "abc" },
              ],
              samples: [{ rawProfile: cpu, ID: "6f1d2c1e-0000-4000-8000-000000000001" }],
            },
            {
              labels: [
                { name: "__name__", value: "memory" },
                { name: "__delta__", value: "false" },
                { name: "service_name", value: "checkout" },
              ],
              samples: [{ rawProfile: mem, ID: "" }],
            },
          ],
        },
        { headers: { "X-Scope-OrgID": "tenant-1" } },
      );
      // Both series of the Push go out in one downstream Push (one tenant, one batch).
      await a.waitForRequests(n + 1, 10_000);
      await b.waitForRequests(n + 1, 10_000);
      for (const [target, expected] of [
        // Alloy's receive_http keeps `__name__` as `app_name` when the series has a service_name.
        [
          a,
          [
            ["__name__", "process_cpu"],
            ["app_name", "process_cpu"],
            ["env", "prod"],
            ["service_name", "checkout"],
          ],
        ],
        [
          b,
          [
            ["__name__", "process_cpu"],
            ["app_name", "process_cpu"],
            ["region", "eu"],
            ["service_name", "checkout"],
          ],
        ],
      ] as const) {
        assert.equal(target.requests.length, n + 1);
        const request = target.requests[n]!;
        const { series } = fromBinary(PushRequestSchema, request.body);
        const cpuSeries = series.find((s) => s.labels.some((l) => l.value === "process_cpu"))!;
        const memSeries = series.find((s) => s.labels.some((l) => l.value === "memory"))!;
        assert.equal(request.path, "/push.v1.PusherService/Push");
        assert.equal(request.headers["content-type"], "application/proto");
        assert.equal(request.headers["x-scope-orgid"], "tenant-1");
        assert.equal(series.length, 2);
        assert.deepEqual(
          cpuSeries.labels.map((l) => [l.name, l.value]),
          expected,
        );
        assert.deepEqual(Buffer.from(cpuSeries.samples[0]!.rawProfile), cpu);
        assert.equal(cpuSeries.samples[0]!.ID, "6f1d2c1e-0000-4000-8000-000000000001");
        assert.deepEqual(Buffer.from(memSeries.samples[0]!.rawProfile), mem);
        assert.ok(
          memSeries.labels.some((l) => l.name === "__delta__"),
          "__delta__ is kept",
        );
      }
      assert.equal(a.requests[n]!.headers.authorization, "Bearer tok-123");
    });
  }

  it("invalid label names are invalid_argument and nothing is forwarded", async () => {
    const client = createClient(PusherService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
    const n = a.requests.length;
    await assert.rejects(
      client.push({ series: [{ labels: [{ name: "bad-name", value: "x" }], samples: [{ rawProfile: gzippedPprof({ seed: 12 }) }] }] }),
      (err: unknown) => err instanceof ConnectError && err.code === Code.InvalidArgument && /bad-name/.test(err.message),
    );
    const empty = await fetch(`${baseUrl}/push.v1.PusherService/Push`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{}",
    });
    assert.equal(empty.status, 200, "a request with no series is accepted");
    assert.deepEqual(await empty.json(), {});
    const garbage = await fetch(`${baseUrl}/push.v1.PusherService/Push`, {
      method: "POST",
      headers: { "Content-Type": "application/proto" },
      body: Buffer.from([0x0a, 0xff, 0xff, 0xff]),
    });
    assert.equal(garbage.status, 400);
    const unsupported = await fetch(`${baseUrl}/push.v1.PusherService/Push`, {
      method: "POST",
      headers: { "Content-Type": "text/plain" },
      body: "hello",
    });
    assert.equal(unsupported.status, 415);
    // A good Push after them: once it arrives, whatever the refused ones had queued would have too.
    const sentinel = gzippedPprof({ seed: 13 });
    await client.push({
      series: [
        {
          labels: [
            { name: "__name__", value: "process_cpu" },
            { name: "service_name", value: "sentinel" },
          ],
          samples: [{ rawProfile: sentinel }],
        },
      ],
    });
    const [arrived, ...others] = (await a.waitForRequests(n + 1, 10_000)).slice(n);
    assert.deepEqual(Buffer.from(fromBinary(PushRequestSchema, arrived!.body).series[0]!.samples[0]!.rawProfile), sentinel);
    assert.equal(others.length, 0, "nothing of the refused requests was forwarded");
  });
});
