import { test } from "node:test";
import assert from "node:assert/strict";
import { ComponentReference } from "./component-reference.js";
import type { Diagnostic } from "./diagnostic.js";
import { receiveHttpSchema, type ReceiveHttpComponent } from "./receive-http-schema.js";
import { Forwarding } from "./forwarding.js";
import { buildReceivers } from "./receivers.js";
import type { IgnoredComponent } from "./relay-config.js";
import type { Located } from "./targets.js";
import { ValueLocations } from "./value-locations.js";
import { expectedHttp2Defaults } from "./http2-defaults-fixture.js";

const targetsByWrite = new Map([
  ["a", ["a"]],
  ["b", ["b/0", "b/1"]],
]);

function receiver(label: string, forwardTo: string[], http: Record<string, unknown> = {}, line = 1, file = "f"): Located<ReceiveHttpComponent> {
  const pos = { line, col: 1 };
  const value = receiveHttpSchema(() => "").parse({
    http: [http],
    forward_to: forwardTo.map((name) => new ComponentReference(name.split("."))),
  });
  const locations = new ValueLocations(pos);
  forwardTo.forEach((_, index) => locations.set(["forward_to", index], { kind: "value", pos: { line, col: 10 + index }, namePos: pos }));
  return { label, file, pos, value, locations };
}

const ignored: IgnoredComponent[] = [
  { name: "logging", file: "f", line: 1, col: 1 },
  { name: "pyroscope.scrape", label: "pods", file: "f", line: 2, col: 1 },
];

function build(receives: Located<ReceiveHttpComponent>[]) {
  const diagnostics: Diagnostic[] = [];
  const forwarding = new Forwarding([], new Set(targetsByWrite.keys()), ignored, diagnostics);
  const receivers = buildReceivers(receives, targetsByWrite, forwarding, diagnostics);
  return { receivers, messages: diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`) };
}

test("expands forward_to into write labels and their targets, without duplicate targets", () => {
  const { receivers, messages } = build([receiver("in", ["pyroscope.write.b.receiver", "pyroscope.write.a.receiver", "pyroscope.write.b.receiver"])]);
  assert.deepEqual(messages, []);
  assert.deepEqual(receivers[0]?.forwardTo, ["b", "a"]);
  assert.deepEqual(receivers[0]?.targets, ["b/0", "b/1", "a"]);
});

const notAReceiver = "is not a pyroscope.write or pyroscope.relabel receiver; expected pyroscope.write.<label>.receiver or pyroscope.relabel.<label>.receiver";

test("reports references to missing writes and to things that are not receivers", () => {
  const { messages } = build([
    receiver("in", ["pyroscope.write.nope.receiver", "pyroscope.write.a", "pyroscope.write.a.receiver.x", "a", "pyroscope.relabel.none.receiver"]),
  ]);
  assert.deepEqual(messages, [
    'f:1:10: forward_to[0]: pyroscope.write "nope" does not exist',
    `f:1:11: forward_to[1]: pyroscope.write.a ${notAReceiver}`,
    `f:1:12: forward_to[2]: pyroscope.write.a.receiver.x ${notAReceiver}`,
    `f:1:13: forward_to[3]: a ${notAReceiver}`,
    'f:1:14: forward_to[4]: pyroscope.relabel "none" does not exist',
  ]);
});

test("names the component a forward_to element refers to when the relay does not run it", () => {
  const { messages } = build([receiver("in", ["pyroscope.scrape.pods.receiver", "logging.x"])]);
  assert.deepEqual(messages, [
    'f:1:10: forward_to[0]: pyroscope.scrape.pods.receiver is not a pyroscope.write or pyroscope.relabel receiver; the relay does not run pyroscope.scrape "pods", only pyroscope.receive_http, pyroscope.relabel and pyroscope.write',
    `f:1:11: forward_to[1]: logging.x ${notAReceiver}`,
  ]);
});

test("reports receivers whose port and address overlap", () => {
  const ok = ["pyroscope.write.a.receiver"];
  const clash = (first: string, second: string) =>
    build([receiver("x", ok, { listen_address: first, listen_port: 80 }), receiver("y", ok, { listen_address: second, listen_port: 80 }, 9)]).messages;
  const message = 'f:9:1: port 80 is already used by pyroscope.receive_http "x" (defined at 1:1)';
  assert.deepEqual(clash("", "127.0.0.1"), [message]);
  assert.deepEqual(clash("127.0.0.1", "0.0.0.0"), [message]);
  assert.deepEqual(clash("::", "::1"), [message]);
  assert.deepEqual(clash("[::]", "10.0.0.1"), [message]);
  assert.deepEqual(clash("LOCALHOST", "localhost"), [message]);
  assert.deepEqual(clash("127.0.0.1", "127.0.0.2"), []);
  assert.deepEqual(clash("::1", "127.0.0.1"), []);
});

test("names the other file of a receiver on the same port", () => {
  const ok = ["pyroscope.write.a.receiver"];
  const { messages } = build([receiver("x", ok, {}, 1, "a.alloy"), receiver("y", ok, {}, 3, "b.alloy")]);
  assert.deepEqual(messages, ['b.alloy:3:1: port 8080 is already used by pyroscope.receive_http "x" (defined at a.alloy:1:1)']);
});

test("different ports never clash", () => {
  const ok = ["pyroscope.write.a.receiver"];
  assert.deepEqual(build([receiver("x", ok, { listen_port: 80 }), receiver("y", ok, { listen_port: 81 })]).messages, []);
});

test("maps the http block into the receiver", () => {
  const { receivers } = build([
    receiver("in", ["pyroscope.write.a.receiver"], {
      listen_address: "0.0.0.0",
      listen_port: 4041,
      conn_limit: 5,
      server_read_timeout: "1s",
      server_write_timeout: "2s",
      server_idle_timeout: "3s",
    }),
  ]);
  assert.deepEqual(receivers[0], {
    label: "in",
    listenAddress: "0.0.0.0",
    listenPort: 4041,
    connLimit: 5,
    readTimeoutMs: 1000,
    writeTimeoutMs: 2000,
    idleTimeoutMs: 3000,
    forwardTo: ["a"],
    targets: ["a"],
    http2: expectedHttp2Defaults(3000),
    gracefulShutdownTimeoutMs: 30_000,
    debugInfoUploadTimeoutMs: 120_000,
    grpcBlockIgnored: false,
    http2DisabledIgnored: false,
  });
});

test("maps the server settings outside the http block: grpc (ignored), graceful shutdown, debuginfo upload timeout", () => {
  const located = receiver("in", ["pyroscope.write.a.receiver"]);
  const value = receiveHttpSchema(() => "").parse({
    http: [{}],
    grpc: [{ listen_port: 9095 }],
    graceful_shutdown_timeout: "5s",
    debug_info_upload_timeout: "10m",
    forward_to: [new ComponentReference(["pyroscope", "write", "a", "receiver"])],
  });
  const [mapped] = build([{ ...located, value }]).receivers;
  assert.equal(mapped?.grpcBlockIgnored, true);
  assert.equal(mapped?.gracefulShutdownTimeoutMs, 5_000);
  assert.equal(mapped?.debugInfoUploadTimeoutMs, 600_000);
  assert.equal(mapped?.tls, undefined);
});
