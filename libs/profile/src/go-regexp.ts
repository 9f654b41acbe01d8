/**
 * Go's regular expressions (RE2 syntax) as relabeling rules use them, on JavaScript's engine. Both
 * pick the leftmost-first match, and the syntax relabeling rules are written in reads the same in
 * both, but for what this translates: `(?P<name>`, POSIX classes (`[[:alpha:]]`) and leading flags
 * (`(?i)`). What RE2 refuses and JavaScript would take (lookaround, backreferences) is refused, so a
 * rule means here what it means in Alloy or not at all.
 */

/** A pattern Go would not compile, or one this translation cannot carry over. */
export class RegexpSyntaxError extends Error {
  override readonly name = "RegexpSyntaxError";
}

const posixClasses: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

/** Flags RE2 takes in `(?flags)`; `s` is already on (the rule's pattern is wrapped in `(?s:...)`). */
const leadingFlags = /^\(\?([imsU]+)\)/;

/**
 * Compiles `pattern` as Alloy compiles a rule's regex: anchored at both ends, `.` matching newlines
 * (`^(?s:pattern)$`).
 * @throws RegexpSyntaxError
 */
export function compileAnchored(pattern: string): RegExp {
  let flags = "s";
  let body = pattern;
  const leading = leadingFlags.exec(body);
  if (leading) {
    if (leading[1]!.includes("U")) throw new RegexpSyntaxError(`${JSON.stringify(pattern)}: the flag U (ungreedy) is not supported`);
    if (leading[1]!.includes("i")) flags += "i";
    if (leading[1]!.includes("m")) flags += "m";
    body = body.slice(leading[0].length);
  }
  const source = translate(body, pattern);
  try {
    return new RegExp(`^(?:${source})$`, flags);
  } catch (error) {
    throw new RegexpSyntaxError(`${JSON.stringify(pattern)}: ${(error as Error).message.replace(/^Invalid regular expression: /, "")}`);
  }
}

/** The JavaScript spelling of an RE2 pattern body. */
function translate(body: string, pattern: string): string {
  const refuse = (what: string) => new RegexpSyntaxError(`${JSON.stringify(pattern)}: ${what} is not supported by Go's regular expressions (RE2)`);
  let out = "";
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "\\") {
      const next = body[i + 1];
      if (next === undefined) throw new RegexpSyntaxError(`${JSON.stringify(pattern)}: trailing backslash at end of expression`);
      if (!inClass && /[1-9]/.test(next)) throw refuse("a backreference");
      if (next === "k" && body[i + 2] === "<") throw refuse("a backreference");
      if (!inClass && (next === "A" || next === "z")) out += next === "A" ? "(?<![\\s\\S])" : "(?![\\s\\S])";
      else if ("pPQEC".includes(next)) throw new RegexpSyntaxError(`${JSON.stringify(pattern)}: \\${next} is not supported`);
      else out += c + next;
      i++;
    } else if (inClass) {
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(body.slice(i));
      if (posix) {
        const ranges = posixClasses[posix[2]!];
        if (ranges === undefined || posix[1] === "^") throw new RegexpSyntaxError(`${JSON.stringify(pattern)}: character class ${posix[0]} is not supported`);
        out += ranges;
        i += posix[0].length - 1;
      } else {
        if (c === "]") inClass = false;
        out += c;
      }
    } else if (c === "[") {
      inClass = true;
      out += c;
      // A `]` first in a class (or after `^`) is a literal in RE2.
      if (body[i + 1] === "^") out += body[++i];
      if (body[i + 1] === "]") {
        out += "\\]";
        i++;
      }
    } else if (c === "(" && body[i + 1] === "?") {
      const rest = body.slice(i);
      if (rest.startsWith("(?P<")) {
        out += "(?<";
        i += 3;
      } else if (/^\(\?<?[=!]/.test(rest)) {
        throw refuse("lookaround");
      } else {
        out += c;
      }
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * Go's `Regexp.Expand`: `$1`, `${1}`, `$name`, `${name}` replaced by what that group matched (nothing
 * when it did not take part or does not exist), `$$` by `$`. A name is as long as it can be, so `$1x`
 * is the group named `1x`, not `$1` then `x`; a `$` not followed by a name stays as it is.
 */
export function expandTemplate(template: string, match: RegExpExecArray): string {
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
    const nameMatch = /^[\p{L}\p{Nd}_]+/u.exec(template.slice(braced ? i + 1 : i));
    const name = nameMatch?.[0];
    if (name === undefined || (braced && template[i + 1 + name.length] !== "}")) {
      out += "$";
      continue;
    }
    i += name.length + (braced ? 2 : 0);
    out += groupText(match, name);
  }
  return out + template.slice(i);
}

function groupText(match: RegExpExecArray, name: string): string {
  // Go reads a name of digits alone as a group number, unless it has a leading zero.
  if (/^\d+$/.test(name) && !(name.length > 1 && name.startsWith("0"))) {
    return match[Number(name)] ?? "";
  }
  return match.groups?.[name] ?? "";
}
