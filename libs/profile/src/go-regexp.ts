import { createRequire } from "node:module";
import type { RE2 } from "re2-wasm";

/**
 * Go's regular expressions as relabeling rules use them. Go's `regexp` is RE2, and so is this (Google's
 * RE2 built for WebAssembly): the same syntax, the same refusals, the same leftmost-first matches and
 * captures, and linear time whatever the pattern and the label value (JavaScript's engine would
 * backtrack, and differs on `\s`, `\x{...}`, `(?m)`, case folding and captures in loops).
 */

/** A pattern Go would not compile. */
export class RegexpSyntaxError extends Error {
  override readonly name = "RegexpSyntaxError";
}

/** A compiled pattern: what relabeling needs of it. */
export interface GoRegexp {
  test(text: string): boolean;
  exec(text: string): RegexpMatch | null;
}

/** A match: the groups by number (undefined when a group took no part), and by name. */
export interface RegexpMatch {
  readonly [group: number]: string | undefined;
  readonly groups?: Readonly<Record<string, string | undefined>>;
}

/** Loaded with the first pattern: 8 MB of memory and 20 ms that a relay without rules does not pay. */
let engine: typeof RE2 | undefined;
function re2(): typeof RE2 {
  engine ??= (createRequire(import.meta.url)("re2-wasm") as typeof import("re2-wasm")).RE2;
  return engine;
}

/**
 * Each pattern compiled once per process, refusals included: the WebAssembly build never frees a
 * compiled pattern, and the same rules are compiled again at every load and for every target.
 */
const compiled = new Map<string, GoRegexp | RegexpSyntaxError>();

/**
 * Compiles `pattern` as Alloy compiles a rule's regex: anchored at both ends, `.` matching newlines
 * (`^(?s:pattern)$`).
 * @throws RegexpSyntaxError
 */
export function compileAnchored(pattern: string): GoRegexp {
  let result = compiled.get(pattern);
  if (result === undefined) {
    result = compile(pattern);
    compiled.set(pattern, result);
  }
  if (result instanceof RegexpSyntaxError) throw result;
  return result;
}

function compile(pattern: string): GoRegexp | RegexpSyntaxError {
  // The WebAssembly build reads JavaScript's `\uXXXX` and `\cX` too, which Go refuses.
  const javascriptOnly = /\\(?:\\|([uc]))/g;
  for (const [, letter] of pattern.matchAll(javascriptOnly)) {
    if (letter !== undefined) return new RegexpSyntaxError(`${JSON.stringify(pattern)}: invalid escape sequence: \\${letter}`);
  }
  try {
    return new (re2())(`^(?s:${pattern})$`, "u");
  } catch (error) {
    const reason = (error as Error).message.replace(/^Invalid regular expression: \/.*\/u: /s, "");
    return new RegexpSyntaxError(`${JSON.stringify(pattern)}: ${reason}`);
  }
}

/**
 * Go's `Regexp.Expand`: `$1`, `${1}`, `$name`, `${name}` replaced by what that group matched (nothing
 * when it did not take part or does not exist), `$$` by `$`. A name is as long as it can be, so `$1x`
 * is the group named `1x`, not `$1` then `x`; a `$` not followed by a name stays as it is.
 */
export function expandTemplate(template: string, match: RegexpMatch): string {
  let out = "";
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf("$", i);
    if (dollar < 0) break;
    out += template.slice(i, dollar);
    i = dollar + 1;
    if (template[i] === "$") {
      out += "$";
      i++;
      continue;
    }
    const braced = template[i] === "{";
    const name = /^[\p{L}\p{Nd}_]+/u.exec(template.slice(braced ? i + 1 : i))?.[0];
    if (name === undefined || (braced && template[i + 1 + name.length] !== "}")) {
      out += "$";
      continue;
    }
    i += name.length + (braced ? 2 : 0);
    out += groupText(match, name);
  }
  return out + template.slice(i);
}

function groupText(match: RegexpMatch, name: string): string {
  // Go reads a name of digits alone as a group number, unless it has a leading zero.
  if (/^\d+$/.test(name) && !(name.length > 1 && name.startsWith("0"))) {
    return match[Number(name)] ?? "";
  }
  return match.groups?.[name] ?? "";
}
