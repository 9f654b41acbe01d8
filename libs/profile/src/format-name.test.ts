import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { formatName } from "./format-name.js";
import { parseName } from "./parse-name.js";

describe("formatName", () => {
  it("sorts keys and escapes nothing", () => {
    assert.equal(
      formatName(
        "app",
        new Map([
          ["z", "1"],
          ["a", "x=y {z"],
          ["m", ""],
        ]),
      ),
      "app{a=x=y {z,m=,z=1}",
    );
  });

  it("writes braces for an empty label set, as Pyroscope does", () => {
    assert.equal(formatName("app", new Map()), "app{}");
  });
});

const chars = (alphabet: string) => fc.constantFrom(...alphabet);
const letters = "abcXYZ019_.";
const app = fc.string({ unit: chars(`${letters}-/`), minLength: 1, maxLength: 12 });
const key = fc.string({ unit: chars(letters), minLength: 1, maxLength: 8 }).filter((k) => k !== "__name__");
// Any text without , or } and without surrounding space (Go's TrimSpace would strip it).
const value = fc.string({ unit: "grapheme", maxLength: 10 }).filter((v) => !/[,}]/.test(v) && !/^[\s\u0085]|[\s\u0085]$/.test(v));
const labels = fc.dictionary(key, value, { maxKeys: 6 }).map((record) => new Map(Object.entries(record)));

describe("name round trip", () => {
  it("parseName(formatName(x)) is x", () => {
    fc.assert(
      fc.property(app, labels, (a, l) => {
        assert.deepEqual(parseName(formatName(a, l)), { app: a, labels: l });
      }),
    );
  });

  it("formatName(parseName(s)) is a fixed point for every name that parses", () => {
    const name = fc.string({ unit: chars("ab_-{}=, !é\t"), maxLength: 24 });
    fc.assert(
      fc.property(name, (s) => {
        let first: string;
        try {
          const { app: a, labels: l } = parseName(s);
          first = formatName(a, l);
        } catch {
          return;
        }
        const again = parseName(first);
        assert.equal(formatName(again.app, again.labels), first);
      }),
    );
  });
});
