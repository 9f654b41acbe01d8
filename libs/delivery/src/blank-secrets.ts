/** What a blanked-out secret reads as. */
const blank = "<secret>";

/**
 * The shortest secret blanked wherever it occurs, and the shortest start of one blanked at the end
 * of a cut text. A shorter secret ("a", "pw") is blanked only as a whole token: inside words it would
 * wreck the detail while telling little of itself.
 */
const shortestInnerSecret = 4;

/**
 * `text` with every occurrence of `secrets` blanked out, for a failure's detail, in one pass: a
 * longer secret wins over one inside it, and no secret is found inside a blank. `cut`: the text is
 * the start of a longer one (an answer's first KiB), so it may end inside a secret: an end that is
 * the start of one is blanked too.
 */
export function blankSecrets(text: string, secrets: readonly string[], cut: boolean): string {
  const longestFirst = [...new Set(secrets)].filter((secret) => secret !== "").sort((a, b) => b.length - a.length);
  if (text === "" || longestFirst.length === 0) return text;
  const pattern = new RegExp(longestFirst.map(secretPattern).join("|"), "gu");
  const blanked = text.replace(pattern, blank);
  if (!cut) return blanked;
  const cutLength = Math.max(0, ...longestFirst.map((secret) => cutSecretLength(blanked, secret)));
  return cutLength === 0 ? blanked : `${blanked.slice(0, -cutLength)}${blank}`;
}

/** A secret as a regular expression: a short one only between non-alphanumerics or the text's ends. */
function secretPattern(secret: string): string {
  const escaped = secret.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
  return secret.length < shortestInnerSecret ? `(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])` : escaped;
}

/** How many characters at the end of `text` are the start of `secret`, at least shortestInnerSecret; else 0. */
function cutSecretLength(text: string, secret: string): number {
  for (let length = Math.min(secret.length - 1, text.length); length >= shortestInnerSecret; length--) {
    if (text.endsWith(secret.slice(0, length))) return length;
  }
  return 0;
}
