import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { binaryPushObjects, jsonPushObjects, pushObjectLimit } from "./push-objects.js";

const bytes = (...parts: number[][]) => new Uint8Array(parts.flat());
const repeat = (unit: number[], times: number) => Array.from({ length: times }, () => unit).flat();
/** A length-delimited field: tag for field `no` (wire type 2), varint length, body. */
const field = (no: number, body: number[]) => [(no << 3) | 2, ...varint(body.length), ...body];
const varint = (n: number) => {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  return [...out, n];
};
const text = (s: string) => [...new TextEncoder().encode(s)];
const label = (name: string, value: string) => field(1, [...field(1, text(name)), ...field(2, text(value))]);
const sample = (profile: number[]) => field(2, [...field(1, profile), ...field(2, text("id"))]);

describe("binaryPushObjects", () => {
  it("counts each series, label, annotation and sample, not the strings and bytes they hold", () => {
    const annotation = field(3, [...field(1, text("throttled")), ...field(2, text("{}"))]);
    const series = field(1, [...label("service_name", "app"), ...label("__name__", "process_cpu"), ...sample(repeat([7], 300)), ...annotation]);
    assert.equal(binaryPushObjects(bytes(series, series)), 2 * 5);
  });

  it("counts an empty series: two bytes that decode into an object", () => {
    assert.equal(binaryPushObjects(bytes(repeat([0x0a, 0x00], 1000))), 1000);
  });

  it("counts fields the schema does not have, at every depth, a group as one", () => {
    const unknownInLabel = field(1, [...field(1, text("a")), 0x18, 0x01, 0x25, 1, 2, 3, 4]);
    const group = [0x1b, 0x08, 0x01, 0x12, 0x01, 0x00, 0x1b, 0x1c, 0x1c];
    assert.equal(binaryPushObjects(bytes([0x10, 0x05], field(1, unknownInLabel), group, [0x29, 0, 0, 0, 0, 0, 0, 0, 0])), 1 + 1 + 1 + 2 + 1 + 1);
  });

  it("reads a known field by its number whatever its wire type, as protobuf-es does", () => {
    // Field 1 with wire type 0: protobuf-es reads a length after it all the same, so `08 00` is a series.
    assert.equal(binaryPushObjects(bytes(repeat([0x08, 0x00], 50))), 50);
  });

  it("follows a length past its parent's end into what follows, as the decoder does", () => {
    // A label claiming 200 bytes in a series of 3: the decoder reads the 200 bytes after the series
    // as the label's (here 100 unknown fields), then goes on with the request's next field.
    const overrun = [0x0a, 0x03, 0x0a, ...varint(200)];
    const tail = repeat([0x0a, 0x00], 5);
    assert.equal(binaryPushObjects(bytes(overrun, repeat([0x18, 0x00], 100), tail)), 2 + 100 + 5);
  });

  it("stops where the bytes stop being protobuf, counting what came before", () => {
    const series = repeat([0x0a, 0x00], 10);
    assert.equal(binaryPushObjects(bytes(series, [0x0f], series)), 10, "wire type 7");
    assert.equal(binaryPushObjects(bytes(series, [0x00], series)), 10, "field 0");
    assert.equal(binaryPushObjects(bytes(series, [0x12, 0x05, 0x01])), 11, "a field longer than the body");
    assert.equal(binaryPushObjects(bytes(series, [0x1b, 0x0a, 0x00, 0x24])), 11, "a group closed by another field's end");
    assert.equal(binaryPushObjects(bytes(series, [0xff, 0xff, 0xff, 0xff, 0x7f])), 10, "a tag over 32 bits");
    assert.equal(binaryPushObjects(bytes(series, [0x0a, 0x80])), 10, "a length cut short");
    assert.equal(binaryPushObjects(new Uint8Array(0)), 0);
  });

  it("refuses groups nested deeper than the decoder's recursion limit", () => {
    const deep = [...repeat([0x1b], 101), ...repeat([0x1c], 101)];
    assert.equal(binaryPushObjects(bytes(deep)), 1);
    const shallow = [...repeat([0x1b], 50), ...repeat([0x1c], 50), 0x0a, 0x00];
    assert.equal(binaryPushObjects(bytes(shallow)), 2);
  });

  it("stops counting once past stopAt", () => {
    assert.equal(binaryPushObjects(bytes(repeat([0x0a, 0x00], 1000)), 10), 11);
  });
});

describe("jsonPushObjects", () => {
  const json = (s: string) => new TextEncoder().encode(s);

  it("counts objects, arrays, members and elements, not what strings hold", () => {
    assert.equal(jsonPushObjects(json('{"series":[{"labels":[{"name":"a{[:,","value":"\\"{[:,"}]}]}')), 5 + 4 + 1);
    assert.equal(jsonPushObjects(json(`{"series":[${Array(1000).fill("{}").join(",")}]}`)), 1002 + 1 + 999);
    // A parser keeps every key and number too, though the schema knows none of them.
    assert.equal(jsonPushObjects(json('{"0":0,"1":1.5,"x":[9e9,9e9],"series":[]}')), 3 + 4 + 4);
  });

  it("stops counting once past stopAt", () => {
    assert.equal(jsonPushObjects(json(`[${Array(1000).fill("[]").join(",")}]`), 10), 11);
  });
});

describe("pushObjectLimit", () => {
  it("allows a 48th of the body limit, and never fewer than 65,536", () => {
    assert.equal(pushObjectLimit(32 * 1024 * 1024), 699_050);
    assert.equal(pushObjectLimit(1024 * 1024), 65_536);
  });
});
