import assert from "node:assert/strict";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { PushRequestSchema } from "@pyroscope-relay/proto";
import type { PushProfileRef } from "@pyroscope-relay/queue";
import { targetConfig } from "@pyroscope-relay/testing";
import { combineSeries, COMBINED_PUSH, pushSeries, uncompressedSize } from "./push-series.js";

/** A stored Push request of one series per raw profile, told apart by `series=<n>`. */
function stored(profiles: readonly Buffer[]): { ref: PushProfileRef; payload: Buffer } {
  const request = create(PushRequestSchema, {
    series: profiles.map((rawProfile, n) => ({
      labels: [
        { name: "service_name", value: "checkout" },
        { name: "series", value: String(n) },
      ],
      samples: [{ rawProfile, ID: `id-${n}` }],
    })),
  });
  const payload = Buffer.from(toBinary(PushRequestSchema, request));
  return { ref: { kind: "push", index: 0, offset: 0, size: payload.length, receivedAt: 0, codec: "proto", series: profiles.length }, payload };
}

test("a raw profile counts as Pyroscope counts it: a gzip member uncompressed, from its trailer; anything else as it is", () => {
  const plain = Buffer.alloc(300_000, 7);
  assert.equal(uncompressedSize(gzipSync(plain)), 300_000);
  assert.equal(uncompressedSize(plain), 300_000);
  assert.equal(uncompressedSize(Buffer.from([0x1f, 0x8b, 1])), 3, "too short for a gzip member");
  assert.equal(uncompressedSize(new Uint8Array(0)), 0);
});

test("a combined Push stays within 1 MiB with its profiles counted uncompressed, however well they compress; a larger series goes alone", () => {
  // Each profile compresses to a few hundred bytes but takes 300 kB uncompressed: three fit in a request.
  const small = Array.from({ length: 7 }, (_, n) => gzipSync(Buffer.alloc(300_000, n)));
  const large = gzipSync(Buffer.alloc(2 * 1024 * 1024, 9));
  const { ref, payload } = stored([...small, large]);
  const { items, failures } = pushSeries(targetConfig("a"), undefined, ref, payload, new Set());
  assert.deepEqual(failures, []);
  const groups = combineSeries(items);
  assert.deepEqual(
    groups.map((group) => group.map((item) => item.part)),
    [[0, 1, 2], [3, 4, 5], [6], [7]],
  );
  for (const group of groups.slice(0, 2)) assert.ok(group.reduce((sum, item) => sum + item.size, 0) <= COMBINED_PUSH.maxBytes);
});
