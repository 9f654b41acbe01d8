/** What a blanked-out secret reads as. */
const blank = "<secret>";

/** The shortest start of a secret blanked at the end of a text: fewer characters tell little of it. */
const shortestCutSecret = 4;

/**
 * `text` with every occurrence of `secrets` blanked out, for a failure's detail: the longest first,
 * so that a secret inside another leaves nothing of the longer one. A text cut short (the start of
 * an answer) may end inside a secret: an end that is the start of one is blanked too.
 */
export function blankSecrets(text: string, secrets: readonly string[]): string {
  if (text === "") return text;
  const longestFirst = secrets.filter((secret) => secret !== "").sort((a, b) => b.length - a.length);
  const blanked = longestFirst.reduce((out, secret) => out.split(secret).join(blank), text);
  const cut = Math.max(0, ...longestFirst.map((secret) => cutSecretLength(blanked, secret)));
  return cut === 0 ? blanked : `${blanked.slice(0, -cut)}${blank}`;
}

/** How many characters at the end of `text` are the start of `secret`, at least shortestCutSecret; else 0. */
function cutSecretLength(text: string, secret: string): number {
  for (let length = Math.min(secret.length - 1, text.length); length >= shortestCutSecret; length--) {
    if (text.endsWith(secret.slice(0, length))) return length;
  }
  return 0;
}
