import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { byteString, encodeQuery, parseQuery, textOf } from "./query-string.js";

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

  it("keeps bytes that are not UTF-8 and encodes raw non-ASCII as UTF-8", () => {
    const values = parseQuery("v=%FF%00&w=é");
    assert.equal(values.get("v")?.[0], "\xff\x00");
    assert.equal(values.get("w")?.[0], "\xc3\xa9");
  });
});

describe("encodeQuery", () => {
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

  it("read malformed bytes as U+FFFD", () => {
    assert.equal(textOf("a\xffb"), "a\ufffdb");
  });
});
