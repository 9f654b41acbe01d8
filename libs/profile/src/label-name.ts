// Character rules of Pyroscope's labelset package, with its error texts, so that what the relay
// rejects reads the same as what the server would have said.

const labelNamePattern = /^[A-Za-z0-9_.]+$/;
// With the `u` flag a match is a whole code point, as `for...of` reads one: the rune Go would name.
const badLabelRune = /[^A-Za-z0-9_.]/u;
const badAppRune = /[^A-Za-z0-9_./-]/u;

/** `[A-Za-z0-9_.]+`; reserved names such as `__name__` and `__delta__` pass too. */
export function isValidLabelName(name: string): boolean {
  return labelNamePattern.test(name);
}

/** Why `name` is not a valid label name, or undefined when it is. */
export function labelNameProblem(name: string): string | undefined {
  if (name === "") return "label name is required";
  return badRuneProblem(name, badLabelRune, "invalid label name");
}

/** Why `app` is not a valid application name (`[A-Za-z0-9_./-]+`), or undefined when it is. */
export function appNameProblem(app: string): string | undefined {
  if (app === "") return "service name is required";
  return badRuneProblem(app, badAppRune, "invalid service name");
}

function badRuneProblem(text: string, badRune: RegExp, what: string): string | undefined {
  const rune = badRune.exec(text)?.[0];
  return rune === undefined ? undefined : `${what}: ${text}: character is not allowed: ${quoteRune(rune)}`;
}

const shortEscapes: Record<string, string> = {
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
  "'": "\\'",
  "\\": "\\\\",
};
const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** Go's `%q` of a rune: `'!'`, `'\n'`, `'\x00'`, `'\u200b'`. */
function quoteRune(rune: string): string {
  const escaped = shortEscapes[rune];
  if (escaped !== undefined) return `'${escaped}'`;
  if (printable.test(rune)) return `'${rune}'`;
  const code = rune.codePointAt(0) ?? 0;
  const hex = code.toString(16);
  if (code < 0x80) return `'\\x${hex.padStart(2, "0")}'`;
  if (code < 0x10000) return `'\\u${hex.padStart(4, "0")}'`;
  return `'\\U${hex.padStart(8, "0")}'`;
}
