import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { appNameProblem, isValidLabelName, labelNameProblem } from "./label-name.js";

describe("isValidLabelName", () => {
  it("accepts [A-Za-z0-9_.]+, reserved names included", () => {
    for (const name of ["env", "A.b_9", "__name__", "__delta__", "0"]) assert.equal(isValidLabelName(name), true, name);
  });

  it("rejects empty names and any other character", () => {
    for (const name of ["", "a-b", "a b", "a/b", "é", "a=b"]) assert.equal(isValidLabelName(name), false, name);
  });
});

describe("labelNameProblem", () => {
  it("is undefined for a valid name", () => {
    assert.equal(labelNameProblem("service_name"), undefined);
  });

  it("uses Pyroscope's texts", () => {
    assert.equal(labelNameProblem(""), "label name is required");
    assert.equal(labelNameProblem("a-b"), "invalid label name: a-b: character is not allowed: '-'");
  });

  it("quotes the character as Go's %q does", () => {
    const cases: [string, string][] = [
      ["a'", "'\\''"],
      ["a\\", "'\\\\'"],
      ["a\n", "'\\n'"],
      ["a\t", "'\\t'"],
      ["a\x07", "'\\a'"],
      ["a\x00", "'\\x00'"],
      ["a\x7f", "'\\x7f'"],
      ["a é", "' '"],
      ["aé", "'é'"],
      ["a\u200b", "'\\u200b'"],
      ["a\u{e0001}", "'\\U000e0001'"],
      ["a😀", "'😀'"],
    ];
    for (const [name, quoted] of cases) {
      assert.equal(labelNameProblem(name), `invalid label name: ${name}: character is not allowed: ${quoted}`);
    }
  });
});

describe("appNameProblem", () => {
  it("allows - and / on top of label characters", () => {
    assert.equal(appNameProblem("my-team/api.v2_x"), undefined);
  });

  it("requires a name and reports the first bad character", () => {
    assert.equal(appNameProblem(""), "service name is required");
    assert.equal(appNameProblem("my app!"), "invalid service name: my app!: character is not allowed: ' '");
  });
});

describe("the first bad character", () => {
  // Pyroscope's check, rune by rune (code points, a lone surrogate on its own), as the reference.
  const firstBad = (text: string, allowed: RegExp) => [...text].find((rune) => !allowed.test(rune));
  const quoted = (problem: string | undefined) => problem?.split(": character is not allowed: ")[1];
  const names = fc.string({
    unit: fc.oneof(fc.constantFrom(..."aZ09_./- é"), fc.constantFrom("😀", "\ud800", "\u200b"), fc.string({ unit: "binary", minLength: 1, maxLength: 1 })),
    maxLength: 12,
  });

  it("is the one a rune-by-rune check finds, for label and app names", () => {
    fc.assert(
      fc.property(
        names.filter((name) => name !== ""),
        (name) => {
          const label = firstBad(name, /^[A-Za-z0-9_.]$/);
          const app = firstBad(name, /^[A-Za-z0-9_./-]$/);
          assert.equal(quoted(labelNameProblem(name)), label === undefined ? undefined : quoted(labelNameProblem(label)));
          assert.equal(quoted(appNameProblem(name)), app === undefined ? undefined : quoted(appNameProblem(app)));
        },
      ),
    );
  });
});
