import { test } from "node:test";
import assert from "node:assert/strict";
import { decimalDigits, numberText, plainDecimal } from "./number-text.js";

test("writes numbers as Alloy converts them to strings: shortest, never in exponent form", () => {
  const cases: Array<[number, string]> = [
    [0, "0"],
    [4040, "4040"],
    [-12.5, "-12.5"],
    [0.1, "0.1"],
    [1.5e-7, "0.00000015"],
    [1e21, "1000000000000000000000"],
    [123456789012345680000, "123456789012345680000"],
  ];
  for (const [n, text] of cases) assert.equal(numberText(n), text, String(n));
});

test("splits a number into significant digits and an exponent, rounded when asked", () => {
  assert.deepEqual(decimalDigits(1234.5), { digits: "12345", exponent: 3 });
  assert.deepEqual(decimalDigits(-0.00012), { digits: "12", exponent: -4 });
  assert.deepEqual(decimalDigits(1234.5, 2), { digits: "12", exponent: 3 });
  assert.deepEqual(decimalDigits(1000, 3), { digits: "1", exponent: 3 });
  assert.equal(plainDecimal({ digits: "12345", exponent: 1 }), "12.345");
});
