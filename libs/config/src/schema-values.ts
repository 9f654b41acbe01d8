import { z } from "zod";
import { parseDuration } from "./duration.js";
import { numberText } from "./number-text.js";
import { Secret } from "./secret.js";

/** Reads a file named in the configuration; injected so that parsing stays free of I/O. */
export type FileReader = (path: string) => string;

/**
 * An attribute set to null takes its Go type's zero value, as Alloy decodes it: `""`, 0, false, an
 * empty map or list, not the attribute's default (`max_backoff_retries = null` is 0). A lookup
 * that finds nothing is null (`{prod = "x"}[constants.hostname]`).
 */
export function nullAs<T extends z.ZodType>(zero: unknown, schema: T) {
  return z.preprocess((value) => (value === null ? zero : value), schema);
}

/** Alloy converts a number to a string where a string is expected, in full decimal digits (`1e21` is `"1000000000000000000000"`)... */
export const alloyString = z.preprocess((value) => (value === null ? "" : typeof value === "number" ? numberText(value) : value), z.string());

/**
 * An attribute Alloy types as a secret (a password, a token, a key): it takes a secret or a string,
 * and holds the text either way. Every other string attribute refuses a secret.
 */
export const secretString = z.preprocess((value) => (value instanceof Secret ? value.reveal() : value), alloyString);

/** ...and a numeric string to a number where a number is expected. */
const numericText = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;
const alloyNumber = z.preprocess((value) => (value === null ? 0 : typeof value === "string" && numericText.test(value) ? Number(value) : value), z.number());

export const alloyBoolean = nullAs(false, z.boolean());

/**
 * An integer attribute. A fraction is cut off toward zero, as Alloy converts a float into an
 * integer field (`2.9` is 2, `-0.5` is 0); the range is checked on what is left.
 */
export function wholeNumber(min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) {
  const range = max !== Number.MAX_SAFE_INTEGER ? ` between ${min} and ${max}` : min !== Number.MIN_SAFE_INTEGER ? ` at least ${min}` : "";
  const message = `must be a whole number${range}`;
  return alloyNumber.pipe(
    z
      .number()
      .transform((n) => Math.trunc(n) + 0)
      .refine((n) => Number.isSafeInteger(n) && n >= min && n <= max, { error: message }),
  );
}

/** A Go-style duration string, in milliseconds; `defaultText` applies when the attribute is omitted. */
export function duration(defaultText: string) {
  return nullAs("0s", alloyString)
    .transform((text, ctx) => {
      try {
        return parseDuration(text);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    })
    .prefault(defaultText);
}

/** Nested blocks decode to a list of bodies; an attribute in their place gets a clear message. */
export function blockList<T extends z.ZodType>(name: string, schema: T) {
  return z.array(schema, {
    error: (issue) => (issue.code === "invalid_type" && issue.input !== undefined ? `must be a block, written ${name} { ... }` : undefined),
  });
}

/** A block that may appear at most once; undefined when absent. */
export function optionalBlock<T extends z.ZodType>(name: string, schema: T) {
  return blockList(name, schema)
    .superRefine((blocks, ctx) => {
      for (let index = 1; index < blocks.length; index++) {
        const message = `duplicate block ${JSON.stringify(name)}; only one is allowed`;
        ctx.addIssue({ code: "custom", path: [index], message });
      }
    })
    .transform((blocks) => blocks[0])
    .optional();
}

/**
 * The contents of the file an attribute names. Secrets lose one trailing newline, which editors and
 * `echo` add but which is never part of a password or token.
 */
export function fileContents(readFile: FileReader, options: { trimTrailingNewline: boolean }) {
  return alloyString.transform((path, ctx) => {
    let contents: string;
    try {
      contents = readFile(path);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `cannot read ${JSON.stringify(path)}: ${(error as Error).message}` });
      return z.NEVER;
    }
    return options.trimTrailingNewline ? contents.replace(/\r?\n$/, "") : contents;
  });
}
