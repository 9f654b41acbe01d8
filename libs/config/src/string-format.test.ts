import { test } from "node:test";
import assert from "node:assert/strict";
import { ComponentReference } from "./component-reference.js";
import { FunctionError } from "./function-error.js";
import { formatString } from "./string-format.js";

function formatError(format: string, values: unknown[], message: string, argument: number | undefined) {
  assert.throws(
    () => formatString(format, values),
    (error: unknown) => error instanceof FunctionError && error.message === message && error.argument === argument,
  );
}

test("formats strings, numbers and bools as Go's fmt.Sprintf does", () => {
  const cases: Array<[string, unknown[], string]> = [
    ["Hello, %s!", ["Ander"], "Hello, Ander!"],
    ["There are %d lights", [4], "There are 4 lights"],
    ["100%% %t", [true], "100% true"],
    ["%q", ['say "hi"\n\x01é\u00a0😀'], '"say \\"hi\\"\\n\\x01é\\u00a0😀"'],
    ["%x %X %o %b %#x %#o %#b", [255, 255, 8, 5, 255, 8, 5], "ff FF 10 101 0xff 010 0b101"],
    ["%5d|%-5d|%05d|%+d|% d|%.3d", [42, 42, -42, 42, 42, 7], "   42|42   |-0042|+42| 42|007"],
    [
      "%f %.2f %e %.1E %8.3f|%-8.1f|%08.2f",
      // biome-ignore lint/suspicious/noApproximativeNumericConstant: an input to format, not π.
      [1.5, 2.345, 1234.5678, 0.000123, 3.14159, 2, -1.5],
      "1.500000 2.35 1.234568e+03 1.2E-04    3.142|2.0     |-0001.50",
    ],
    ["%g %g %g %g %g %.3g %.3g %G", [100000, 1000000, 0.0001, 0.00001, 1.5, 1234, 1, 1e-7], "100000 1e+06 0.0001 1e-05 1.5 1.23e+03 1 1E-07"],
    ["%v %v %v %v %v", ["s", 3, 2.5, false, null], "s 3 2.5 false <nil>"],
    ["%v %v", [[1, "a", [true]], Object.assign(Object.create(null), { b: 1, a: "x" })], "[1 a [true]] map[a:x b:1]"],
    ["%#v %#v %#v", ["s", 1, true], '"s" 1 true'],
    ["%6s|%-6s|%.2s|%3v", ["ab", "ab", "abc", "😀"], "    ab|ab    |ab|  😀"],
    ["%[2]s %[1]s %s", ["a", "b"], "b a b"],
    ["%.0f %.0e", [2, 5], "2 5e+00"],
    ["%v", [1234567.5], "1.2345675e+06"],
  ];
  for (const [format, values, expected] of cases) assert.equal(formatString(format, values), expected, format);
});

test("refuses a value that does not fit its verb, at that value", () => {
  formatError("%s", [1], "%s needs a string, got number", 1);
  formatError("%d %d", [1, 1.5], "%d needs a whole number, got number", 2);
  formatError("%d", ["1"], "%d needs a whole number, got string", 1);
  formatError("%f", ["1"], "%f needs a number, got string", 1);
  formatError("%t", [1], "%t needs a bool, got number", 1);
  formatError("%v", [new ComponentReference(["local", "file", "x", "content"])], "%v cannot format a reference", 1);
  formatError("%#v", [[1]], "%#v cannot format a list", 1);
});

test("refuses missing and unused values, and formats it cannot read", () => {
  formatError("%s %s", ["a"], "%s has no value (1 given)", 0);
  formatError("%s", ["a", "b"], "value 2 is not used by the format", 2);
  formatError("%[3]s", ["a"], "invalid value index in the format: there is 1 value", 0);
  formatError("%[0]s", ["a", "b"], "invalid value index in the format: there are 2 values", 0);
  formatError("%[1s", ["a"], "invalid value index in the format: there is 1 value", 0);
  formatError("%y", ["a"], "unsupported verb %y", 0);
  formatError("%*d", [1, 2], "widths and precisions taken from values (*) are not supported", 0);
  formatError("50%", [], "the format ends in the middle of a verb", 0);
});

test("refuses widths and precisions it cannot write, where JavaScript would throw a RangeError", () => {
  formatError("%999999999999d", [1], "%d: a width or precision of a million or more", 0);
  formatError("%.1000000s", ["a"], "%s: a width or precision of a million or more", 0);
  formatError("%.200f", [1.5], "%f: a precision over 100 is not supported", 0);
  formatError("%.100e", [1.5], "%e: a precision over 99 is not supported", 0);
  formatError("%.101g", [1.5], "%g: a precision over 100 is not supported", 0);
  assert.equal(formatString("%.99e", [1.5]), `1.${"5".padEnd(99, "0")}e+00`);
  assert.equal(formatString("%.100f", [0.5]), `0.${"5".padEnd(100, "0")}`);
  assert.equal(formatString("%.100g", [0.5]), "0.5");
  assert.equal(formatString("%999d", [1]).length, 999);
});
