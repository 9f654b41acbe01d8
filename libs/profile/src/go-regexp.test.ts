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

  it("takes RE2's named groups, POSIX classes and leading flags", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Go template, expanded as Go does.
    assert.equal(expand("(?P<first>[a-z]+)-(?P<second>\\d+)", "pod-12", "${second}/$first"), "12/pod");
    const posix = compileAnchored("[[:alpha:]]+[[:digit:]]");
    assert.equal(posix.test("abc1"), true);
    assert.equal(posix.test("abc"), false);
    assert.equal(compileAnchored("(?i)prod").test("PROD"), true);
    assert.equal(compileAnchored("[]a]+").test("]a]"), true, "a ] first in a class is a literal");
    assert.equal(compileAnchored("\\Afoo\\z").test("foo"), true);
  });

  it("refuses what Go refuses, naming the pattern", () => {
    for (const [pattern, words] of [
      ["(?=a)a", "lookaround"],
      ["(a)\\1", "backreference"],
      ["(", "("],
      ["a\\", "trailing backslash"],
      ["[[:nope:]]", "[:nope:]"],
      ["\\pL", "\\p"],
    ] as const) {
      assert.throws(
        () => compileAnchored(pattern),
        (error: unknown) => error instanceof RegexpSyntaxError && error.message.includes(JSON.stringify(pattern)) && error.message.includes(words),
        pattern,
      );
    }
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
