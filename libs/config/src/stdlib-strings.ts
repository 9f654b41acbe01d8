import { trimGoSpace } from "@pyroscope-relay/profile";
import type { StdlibFunction } from "./stdlib-function.js";
import { formatString } from "./string-format.js";

/** Go's strings.Trim: removes every leading and trailing character found in `cutset`. */
function trimCutset(text: string, cutset: string): string {
  const cut = new Set(cutset);
  const chars = [...text];
  let start = 0;
  let end = chars.length;
  while (start < end && cut.has(chars[start]!)) start++;
  while (end > start && cut.has(chars[end - 1]!)) end--;
  return chars.slice(start, end).join("");
}

/** Go splits or replaces around every character (not UTF-16 unit) when the separator is empty. */
function splitGo(text: string, separator: string): string[] {
  return separator === "" ? [...text] : text.split(separator);
}

/** The `string` namespace; as in Go, `replace` and `split` treat their text literally, not as patterns. */
export const stringFunctions = {
  format: { arity: [1, Infinity], run: (args) => formatString(args.string(0), args.rest(1)) },
  join: { arity: [2, 2], run: (args) => args.strings(0).join(args.string(1)) },
  replace: {
    arity: [3, 3],
    run: (args) => {
      const [text, old, replacement] = [args.string(0), args.string(1), args.string(2)];
      return old === "" ? [replacement, ...[...text].map((char) => char + replacement)].join("") : text.split(old).join(replacement);
    },
  },
  split: { arity: [2, 2], run: (args) => splitGo(args.string(0), args.string(1)) },
  to_lower: { arity: [1, 1], run: (args) => args.string(0).toLowerCase() },
  to_upper: { arity: [1, 1], run: (args) => args.string(0).toUpperCase() },
  trim: { arity: [2, 2], run: (args) => trimCutset(args.string(0), args.string(1)) },
  trim_prefix: {
    arity: [2, 2],
    run: (args) => {
      const [text, prefix] = [args.string(0), args.string(1)];
      return text.startsWith(prefix) ? text.slice(prefix.length) : text;
    },
  },
  trim_suffix: {
    arity: [2, 2],
    run: (args) => {
      const [text, suffix] = [args.string(0), args.string(1)];
      return text.endsWith(suffix) ? text.slice(0, text.length - suffix.length) : text;
    },
  },
  trim_space: { arity: [1, 1], run: (args) => trimGoSpace(args.string(0)) },
} satisfies Record<string, StdlibFunction>;
