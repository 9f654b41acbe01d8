import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileAnchored, expandTemplate, RegexpSyntaxError } from "./go-regexp.js";

const expand = (pattern: string, text: string, template: string) => {
  const match = compileAnchored(pattern).exec(text);
  assert.ok(match, `${pattern} should match ${text}`);
  return expandTemplate(template, match);
};

describe("compileAnchored", () => {
  it("matches the whole value, as Alloy's ^(?s:...)$ does", () => {
    const pattern = compileAnchored("foo|bar");
    assert.equal(pattern.test("foo"), true);
    assert.equal(pattern.test("bar"), true);
    assert.equal(pattern.test("foobar"), false);
    assert.equal(pattern.test("xfoo"), false);
    assert.equal(compileAnchored("a.b").test("a\nb"), true, "dot matches a newline");
    assert.equal(compileAnchored("^1$").test("1"), true, "anchors of its own are harmless");
  });

  it("is Go's RE2: its syntax, its captures, its classes", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Go template, expanded as Go does.
    assert.equal(expand("(?P<first>[a-z]+)-(?P<second>\\d+)", "pod-12", "${second}/$first"), "12/pod");
    const posix = compileAnchored("[[:alpha:]]+[[:digit:]]");
    assert.equal(posix.test("abc1"), true);
    assert.equal(posix.test("abc"), false);
    assert.equal(compileAnchored("(?i)prod").test("PROD"), true);
    assert.equal(compileAnchored("\\x{41}\\pL").test("Aé"), true);
    assert.equal(compileAnchored("(?m)foo").test("x\nfoo"), false, "(?m) leaves the rule's own anchors alone");
    assert.equal(compileAnchored("\\S+").test("a\u00a0b"), true, "Go's \\s is ASCII space only");
    assert.equal(compileAnchored(".").test("😀"), true, "a rune, not half of one");
    assert.equal(expand("(?:(a)|b)+", "ab", "$1"), "a", "a group keeps its last capture across a loop, as in Go");
  });

  it("matches in linear time where a backtracking engine would not finish", () => {
    assert.equal(compileAnchored("(\\w+_?)+x").test(`${"a".repeat(50_000)}-`), false);
  });

  it("refuses what Go refuses, naming the pattern", () => {
    for (const [pattern, words] of [
      ["(?=a)a", "invalid perl operator"],
      ["(a)\\1", "invalid escape"],
      ["(", "missing )"],
      // As in Alloy: the trailing backslash escapes the wrapping's `)`.
      ["a\\", "missing )"],
      ["[[:nope:]]", "invalid character class range"],
      ["a{1001}", "invalid repetition size"],
      ["\\u0041", "invalid escape sequence: \\u"],
      ["\\cA", "invalid escape sequence: \\c"],
    ] as const) {
      assert.throws(
        () => compileAnchored(pattern),
        (error: unknown) => error instanceof RegexpSyntaxError && error.message.includes(JSON.stringify(pattern)) && error.message.includes(words),
        pattern,
      );
    }
    assert.equal(compileAnchored("\\\\u").test("\\u"), true, "an escaped backslash before u is no escape");
  });
});

describe("expandTemplate", () => {
  it("expands numbers, names and $$ as Go's Expand does", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Go template, expanded as Go does.
    assert.equal(expand("(a)(b)?", "a", "[$1][$2][${1}x][$$1]"), "[a][][ax][$1]");
    assert.equal(expand("(a)", "a", "$1x"), "", "$1x names the group 1x, which does not exist");
    assert.equal(expand("(a)", "a", "$ ${1"), "$ ${1", "a $ without a name stays");
    assert.equal(expand("(a)", "a", "$01"), "", "a leading zero makes a name, not a number");
    assert.equal(expand("(a)", "a", "no dollars"), "no dollars");
  });
});
