/** What a blanked-out secret reads as. */
const blank = "<secret>";

/**
 * The shortest secret blanked wherever it occurs, and the shortest start of one blanked at the end
 * of a cut text. A shorter secret ("a", "pw") is blanked only as a whole token: inside words it would
 * wreck the detail while telling little of itself.
 */
const shortestInnerSecret = 4;

/** A letter or a digit, before or after a short secret: then it is part of a word, not a token. */
const wordBefore = /[\p{L}\p{N}]$/u;
const wordAfter = /^[\p{L}\p{N}]/u;

/**
 * `text` with every occurrence of `secrets` blanked out, for a failure's detail. Each secret is
 * looked for as written and as JSON escapes it (see `writtenForms`), every occurrence of each in
 * `text` as it is: what they cover, overlapping or touching, is blanked as one, so a secret is never
 * found inside a blank, and two that overlap leave nothing of either. `cut`: the text is the start of
 * a longer one (an answer's first KiB), so it may end inside a secret: a character the cut split is
 * dropped (see `withoutSplitEnd`), and an end that is the start of a secret is blanked too.
 */
export function blankSecrets(text: string, secrets: readonly string[], cut: boolean): string {
  const whole = cut ? withoutSplitEnd(text) : text;
  const forms = new Set(secrets.flatMap((secret) => writtenForms(secret)));
  forms.delete("");
  if (whole === "" || forms.size === 0) return whole;
  // Half-open [start, end) ranges of `whole`; few secrets, a text of a KiB or so: indexOf suffices.
  const ranges: [number, number][] = [];
  for (const form of forms) {
    const short = form.length < shortestInnerSecret;
    for (let at = whole.indexOf(form); at !== -1; at = whole.indexOf(form, at + 1)) {
      if (!short || isToken(whole, at, at + form.length)) ranges.push([at, at + form.length]);
    }
    const cutLength = cut ? cutSecretLength(whole, form) : 0;
    if (cutLength > 0) ranges.push([whole.length - cutLength, whole.length]);
  }
  if (ranges.length === 0) return whole;
  ranges.sort((a, b) => a[0] - b[0]);
  let blanked = "";
  let copied = 0;
  let [start, end] = ranges[0]!;
  for (const [from, to] of ranges) {
    if (from > end) {
      blanked += `${whole.slice(copied, start)}${blank}`;
      copied = end;
      start = from;
    }
    end = Math.max(end, to);
  }
  return `${blanked}${whole.slice(copied, start)}${blank}${whole.slice(end)}`;
}

/**
 * A secret as written, and as a JSON string holds it where an answer quotes the request in JSON:
 * escaped as JSON.stringify does (`"`, `\`, control characters), and as Go's encoding/json does:
 * U+2028 and U+2029 too, and by default `<`, `>` and `&` (as \u003c, \u003e, \u0026).
 */
function writtenForms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const go = json.replace(/[\u2028\u2029]/g, unicodeEscape);
  return [secret, json, go, go.replace(/[<>&]/g, unicodeEscape)];
}

function unicodeEscape(character: string): string {
  return `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * A cut text without the character the cut split, if it split one: the U+FFFD that an incomplete
 * UTF-8 sequence decodes to (a cut at a byte offset), or a lone high surrogate (a cut at a UTF-16
 * offset). Else the start of a secret in it would end in what the secret does not hold.
 */
function withoutSplitEnd(text: string): string {
  const last = text.charCodeAt(text.length - 1);
  return last === 0xfffd || (last >= 0xd800 && last <= 0xdbff) ? text.slice(0, -1) : text;
}

/** Whether text[start, end) stands between non-alphanumerics or the text's ends. */
function isToken(text: string, start: number, end: number): boolean {
  // Two code units either side: a character beyond the BMP is a surrogate pair.
  return !wordBefore.test(text.slice(Math.max(0, start - 2), start)) && !wordAfter.test(text.slice(end, end + 2));
}

/** How many characters at the end of `text` are the start of `secret`, at least shortestInnerSecret; else 0. */
function cutSecretLength(text: string, secret: string): number {
  for (let length = Math.min(secret.length - 1, text.length); length >= shortestInnerSecret; length--) {
    if (text.endsWith(secret.slice(0, length))) return length;
  }
  return 0;
}
