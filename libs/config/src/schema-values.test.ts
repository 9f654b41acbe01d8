import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { alloyString, blockList, duration, fileContents, optionalBlock, wholeNumber } from "./schema-values.js";

function messages(result: { success: boolean; error?: z.ZodError }): string[] {
  return result.error?.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`) ?? [];
}

test("converts numbers to strings where a string is expected, as Alloy does", () => {
  assert.equal(alloyString.parse(7), "7");
  assert.equal(alloyString.parse(1.5), "1.5");
  // Go's FormatFloat(n, 'f', -1, 64): never an exponent, as a header or label value.
  assert.equal(alloyString.parse(1e21), "1000000000000000000000");
  assert.equal(alloyString.parse(1.5e-7), "0.00000015");
  assert.equal(alloyString.parse(-2.5e-7), "-0.00000025");
  assert.equal(alloyString.safeParse(true).success, false);
});

test("converts numeric strings to whole numbers and checks the range", () => {
  const port = wholeNumber(0, 65535);
  assert.equal(port.parse("9999"), 9999);
  assert.equal(port.parse(0), 0);
  assert.deepEqual(messages(port.safeParse(65536)), [": must be a whole number between 0 and 65535"]);
  assert.deepEqual(messages(port.safeParse(-1)), [": must be a whole number between 0 and 65535"]);
  assert.deepEqual(messages(wholeNumber(1).safeParse(0)), [": must be a whole number at least 1"]);
  assert.equal(port.safeParse("x").error?.issues[0]?.code, "invalid_type");
});

test("takes any whole number without bounds, as a Go int field does", () => {
  const int = wholeNumber();
  assert.equal(int.parse(-7), -7);
  assert.equal(int.parse("-2.5"), -2);
  assert.deepEqual(messages(int.safeParse(1e300)), [": must be a whole number"]);
});

test("cuts a fraction off toward zero, as Alloy converts a float into an integer field", () => {
  const retries = wholeNumber(0);
  assert.equal(retries.parse(2.9), 2);
  assert.equal(retries.parse("1.5"), 1);
  assert.ok(Object.is(retries.parse(-0.5), 0));
  assert.deepEqual(messages(retries.safeParse(-1.5)), [": must be a whole number at least 0"]);
  assert.deepEqual(messages(wholeNumber(1).safeParse(0.9)), [": must be a whole number at least 1"]);
});

test("parses durations to milliseconds, with a default when omitted", () => {
  const timeout = duration("30s");
  assert.equal(timeout.parse("1m"), 60_000);
  assert.equal(timeout.parse(undefined), 30_000);
  assert.deepEqual(messages(timeout.safeParse("1y")), [': invalid duration "1y": unknown unit "y"']);
});

test("blocks must be given as blocks", () => {
  const blocks = blockList("endpoint", z.object({}));
  assert.deepEqual(messages(blocks.safeParse("x")), [": must be a block, written endpoint { ... }"]);
});

test("an optional block is undefined when absent and may appear once", () => {
  const block = optionalBlock("tls_config", z.object({ a: z.number() }));
  assert.equal(block.parse(undefined), undefined);
  assert.deepEqual(block.parse([{ a: 1 }]), { a: 1 });
  assert.deepEqual(messages(block.safeParse([{ a: 1 }, { a: 2 }, { a: 3 }])), [
    '1: duplicate block "tls_config"; only one is allowed',
    '2: duplicate block "tls_config"; only one is allowed',
  ]);
});

test("reads files through the injected reader, trimming one newline from secrets", () => {
  const files: Record<string, string> = { "/s": "secret\n\n", "/crlf": "secret\r\n", "/pem": "PEM\n" };
  const read = (path: string) => files[path] ?? assert.fail(path);
  assert.equal(fileContents(read, { trimTrailingNewline: true }).parse("/s"), "secret\n");
  assert.equal(fileContents(read, { trimTrailingNewline: true }).parse("/crlf"), "secret");
  assert.equal(fileContents(read, { trimTrailingNewline: false }).parse("/pem"), "PEM\n");
});

test("reports a file that cannot be read", () => {
  const failing = fileContents(
    () => {
      throw new Error("EACCES: permission denied");
    },
    { trimTrailingNewline: true },
  );
  assert.deepEqual(messages(failing.safeParse("/s")), [': cannot read "/s": EACCES: permission denied']);
});
