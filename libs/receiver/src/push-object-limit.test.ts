import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, fromBinary, toBinary, toJsonString } from "@bufbuild/protobuf";
import type { Message } from "@bufbuild/protobuf";
import { PushRequestSchema } from "@pyroscope-relay/proto";
import type { PushRequest } from "@pyroscope-relay/proto";
import { binaryPushObjects, jsonPushObjects } from "@pyroscope-relay/profile";

/** A small seeded generator: the same cases on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function randomPush(next: () => number): PushRequest {
  const count = (max: number) => Math.floor(next() * (max + 1));
  return create(PushRequestSchema, {
    series: Array.from({ length: count(5) }, () => ({
      labels: Array.from({ length: count(6) }, (_, i) => ({ name: `l${i}`, value: "v".repeat(count(200)) })),
      samples: Array.from({ length: count(3) }, () => ({ rawProfile: new Uint8Array(count(300)).fill(count(255)), ID: count(1) ? "id" : "" })),
      annotations: Array.from({ length: count(2) }, () => ({ key: "k", value: "a".repeat(count(40)) })),
    })),
  });
}

/** The objects protobuf-es built: each message and each unknown field it kept. */
function decodedObjects(message: Message & { $unknown?: unknown[] }): number {
  let objects = message.$unknown?.length ?? 0;
  for (const value of Object.values(message)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item === "object" && item !== null && "$typeName" in item) objects += 1 + decodedObjects(item as Message);
    }
  }
  return objects;
}

describe("the objects counted before decoding, against protobuf-es", () => {
  it("are the series, labels, annotations and samples of any encoded request", () => {
    const next = random(1);
    for (let i = 0; i < 300; i++) {
      const request = randomPush(next);
      const objects = request.series.reduce((n, s) => n + 1 + s.labels.length + s.samples.length + s.annotations.length, 0);
      assert.equal(binaryPushObjects(toBinary(PushRequestSchema, request)), objects);
      // A JSON parser also builds the arrays (and the request): at least as many.
      assert.ok(jsonPushObjects(new TextEncoder().encode(toJsonString(PushRequestSchema, request))) >= objects);
    }
  });

  it("are never fewer than protobuf-es builds from bytes mangled any way it still decodes", () => {
    const next = random(2);
    let decoded = 0;
    for (let i = 0; i < 8000; i++) {
      const bytes = Array.from(toBinary(PushRequestSchema, randomPush(next)));
      for (let edits = 1 + Math.floor(next() * 2); edits > 0; edits--) {
        const at = Math.floor(next() * (bytes.length + 1));
        const byte = Math.floor(next() * 256);
        const kind = next();
        if (kind < 0.4) bytes[at] = byte;
        else if (kind < 0.8) bytes.splice(at, 0, byte, Math.floor(next() * 4));
        else bytes.splice(at, 1 + Math.floor(next() * 3));
      }
      let message: PushRequest;
      try {
        message = fromBinary(PushRequestSchema, Uint8Array.from(bytes));
      } catch {
        continue;
      }
      decoded++;
      const built = decodedObjects(message);
      assert.ok(
        binaryPushObjects(Uint8Array.from(bytes)) >= built,
        `case ${i}: counted ${binaryPushObjects(Uint8Array.from(bytes))}, built ${built}: ${bytes}`,
      );
    }
    assert.ok(decoded > 1000, `${decoded} mangled requests still decoded`);
  });
});
