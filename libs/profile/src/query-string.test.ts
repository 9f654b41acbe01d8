import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { byteString, encodeQuery, firstValue, parseQuery, textOf } from "./query-string.js";

// Queries made of what matters to the parser: separators, escapes good and bad, bytes beyond ASCII.
const queryText = fc.string({ unit: fc.constantFrom(..."&=;+%7BbFfz0a-_.~ \xff\u00e9\u20acn", "name", "%4", "%zz", "%2B", "%6e"), maxLength: 40 });
const byteValue = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 12 });

describe("parseQuery", () => {
  it("groups repeated keys in order and decodes + and %XX", () => {
    assert.deepEqual(
      parseQuery("b=1&a=x+y&b=2&c=%7B%7d&flag&=v&&d="),
      new Map([
        ["b", ["1", "2"]],
        ["a", ["x y"]],
        ["c", ["{}"]],
        ["flag", [""]],
        ["", ["v"]],
        ["d", [""]],
      ]),
    );
  });

  it("splits at the first =", () => {
    assert.deepEqual(parseQuery("a=b=c"), new Map([["a", ["b=c"]]]));
  });

  it("skips pairs with ; or a malformed escape, as Go does", () => {
    assert.deepEqual(parseQuery("a=1;b=2&c=%zz&d%=1&e=%4&f=ok"), new Map([["f", ["ok"]]]));
  });

  it("keeps bytes that are not UTF-8, escaped or raw (a query off the wire is one character per byte)", () => {
    const values = parseQuery("v=%FF%00&w=\xc3\xa9&x=\xc3\xa9%7D&y=\xff");
    assert.equal(values.get("v")?.[0], "\xff\x00");
    assert.equal(values.get("w")?.[0], "\xc3\xa9", "raw UTF-8 é stays two bytes, not encoded again");
    assert.equal(values.get("x")?.[0], "\xc3\xa9}");
    assert.equal(values.get("y")?.[0], "\xff");
    assert.equal(encodeQuery(values), "v=%FF%00&w=%C3%A9&x=%C3%A9%7D&y=%FF");
  });

  it("takes text with characters beyond a byte as UTF-8", () => {
    assert.equal(parseQuery("w=\u20ac").get("w")?.[0], "\xe2\x82\xac");
  });
});

// Go's url.ParseQuery and url.Values.Encode written plainly, regular expressions and all: the
// reference the parser's shortcuts are held to.
// Bytes off the wire as they are; text beyond a byte (never off the wire) as UTF-8.
// biome-ignore lint/suspicious/noControlCharactersInRegex: a byte is 0x00 to 0xff, control characters included.
const wireBytes = (text: string) => (/[^\x00-\xff]/.test(text) ? Buffer.from(text, "utf8").toString("latin1") : text);
function referenceUnescape(component: string): string | undefined {
  if (/%(?![0-9A-Fa-f]{2})/.test(component)) return undefined;
  return wireBytes(component).replace(/\+|%([0-9A-Fa-f]{2})/g, (_, hex?: string) => (hex === undefined ? " " : String.fromCharCode(Number.parseInt(hex, 16))));
}
function referenceParse(query: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const pair of query.split("&")) {
    if (pair === "" || pair.includes(";")) continue;
    const eq = pair.indexOf("=");
    const key = referenceUnescape(eq === -1 ? pair : pair.slice(0, eq));
    const value = referenceUnescape(eq === -1 ? "" : pair.slice(eq + 1));
    if (key === undefined || value === undefined) continue;
    values.set(key, [...(values.get(key) ?? []), value]);
  }
  return values;
}
const referenceEscape = (bytes: string) =>
  bytes.replace(/[^A-Za-z0-9\-_.~]/g, (c) => (c === " " ? "+" : `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`));
const referenceEncode = (values: Map<string, string[]>) =>
  [...values.keys()]
    .sort()
    .flatMap((key) => values.get(key)!.map((value) => `${referenceEscape(key)}=${referenceEscape(value)}`))
    .join("&");

describe("against Go's rules written plainly", () => {
  it("parses and re-encodes every query as the reference does", () => {
    fc.assert(
      fc.property(queryText, (query) => {
        assert.deepEqual(parseQuery(query), referenceParse(query));
        assert.equal(encodeQuery(parseQuery(query)), referenceEncode(referenceParse(query)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe("firstValue", () => {
  it("is the first value parseQuery gives the key", () => {
    fc.assert(
      fc.property(queryText, fc.constantFrom("name", "a", ""), (query, key) => {
        assert.equal(firstValue(query, key), parseQuery(query).get(key)?.[0]);
      }),
    );
  });

  it("decodes an escaped key, and skips a pair with a malformed escape or a ;", () => {
    assert.equal(firstValue("na%6De=x&name=y", "name"), "x");
    assert.equal(firstValue("name=%zz&name=a;b&name=ok", "name"), "ok");
    assert.equal(firstValue("other=1", "name"), undefined);
  });
});

describe("encodeQuery", () => {
  it("writes what parseQuery reads back, any bytes in keys and values", () => {
    fc.assert(
      fc.property(fc.dictionary(byteValue, fc.array(byteValue, { minLength: 1, maxLength: 3 })), (entries) => {
        const values = new Map(Object.entries(entries));
        const encoded = encodeQuery(values);
        assert.match(encoded, /^[A-Za-z0-9\-_.~%+=&]*$/);
        assert.deepEqual(parseQuery(encoded), new Map([...values].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
      }),
    );
  });

  it("sorts keys by bytes, keeps value order and escapes as url.QueryEscape", () => {
    const values = new Map([
      ["b", ["2", "1"]],
      ["a b", ["x y/{z}~-_."]],
      ["B", ["\xff"]],
    ]);
    assert.equal(encodeQuery(values), "B=%FF&a+b=x+y%2F%7Bz%7D~-_.&b=2&b=1");
  });

  it("round-trips a parsed query byte for byte", () => {
    const query = "a=%00%C3%A9%FF&a=2&b=%2B%26%3D";
    assert.equal(encodeQuery(parseQuery(query)), query);
  });
});

describe("byte strings", () => {
  it("hold UTF-8 bytes and read back to text", () => {
    assert.equal(byteString("é{"), "\xc3\xa9{");
    assert.equal(textOf("\xc3\xa9{"), "é{");
  });

  it("read malformed bytes as U+FFFD, one per byte of a sequence that is not valid whole, as Go does", () => {
    assert.equal(textOf("a\xffb"), "a\ufffdb");
    // A truncated three-byte sequence (a value cut at a byte limit): two bytes, two U+FFFD.
    assert.equal(textOf("k=\xe2\x82}"), "k=\ufffd\ufffd}");
    assert.equal(textOf("\xe2\x82\xac\xe2\x82"), "\u20ac\ufffd\ufffd");
    // An overlong encoding, a surrogate, a stray continuation byte, a lead byte at the end.
    assert.equal(textOf("\xc0\xaf"), "\ufffd\ufffd");
    assert.equal(textOf("\xed\xa0\x80"), "\ufffd\ufffd\ufffd");
    assert.equal(textOf("\x80a"), "\ufffda");
    assert.equal(textOf("a\xf0\x9f\x98"), "a\ufffd\ufffd\ufffd");
    assert.equal(textOf("\xf0\x9f\x98\x80"), "\u{1f600}");
  });

  it("keep a leading byte order mark, as Go does, and a U+FFFD sent as such", () => {
    assert.equal(textOf("\xef\xbb\xbfapp"), "\ufeffapp");
    assert.equal(textOf("\xef\xbf\xbd\xff"), "\ufffd\ufffd");
  });

  it("read any bytes as Go's utf8.DecodeRune would, valid UTF-8 as it is", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), (raw) => {
        const bytes = Buffer.from(raw).toString("latin1");
        assert.equal(textOf(bytes), referenceGoDecode(raw));
      }),
      { numRuns: 2000 },
    );
  });
});

/** Go's decoding written plainly: the longest valid sequence at each byte, else one U+FFFD for that byte. */
function referenceGoDecode(raw: Uint8Array): string {
  let text = "";
  for (let i = 0; i < raw.length; ) {
    let taken = 0;
    for (const length of [1, 2, 3, 4]) {
      if (i + length > raw.length) break;
      const piece = Buffer.from(raw.subarray(i, i + length));
      const decoded = piece.toString("utf8");
      // Valid exactly when it decodes to one character and encodes back to the same bytes.
      if ([...decoded].length === 1 && Buffer.from(decoded, "utf8").equals(piece)) {
        text += decoded;
        taken = length;
        break;
      }
    }
    if (taken === 0) {
      text += "\ufffd";
      taken = 1;
    }
    i += taken;
  }
  return text;
}
