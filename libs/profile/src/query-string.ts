// A query string as Go's net/url sees it, because Alloy forwards what url.ParseQuery and
// url.Values.Encode make of it. Keys and values are raw bytes kept in "byte strings" (one
// character per byte, latin1): bytes that are not UTF-8 survive, and plain string order is Go's
// byte order.

/** Parameter name to its values in order of appearance, all as byte strings. */
export type QueryValues = Map<string, string[]>;

/**
 * url.ParseQuery: pairs split on `&`, then at the first `=`; `+` is a space. Like Go it silently
 * skips a pair holding `;` or a malformed `%` escape, so such pairs are not forwarded.
 */
export function parseQuery(query: string): QueryValues {
  const values: QueryValues = new Map();
  for (const pair of query.split("&")) {
    if (pair === "" || pair.includes(";")) continue;
    const eq = pair.indexOf("=");
    const key = queryUnescape(eq === -1 ? pair : pair.slice(0, eq));
    const value = queryUnescape(eq === -1 ? "" : pair.slice(eq + 1));
    if (key === undefined || value === undefined) continue;
    const list = values.get(key);
    if (list === undefined) values.set(key, [value]);
    else list.push(value);
  }
  return values;
}

/** url.Values.Encode: sorted by key, each key's values in order, QueryEscape'd. */
export function encodeQuery(values: QueryValues): string {
  const pairs: string[] = [];
  for (const key of [...values.keys()].sort()) {
    for (const value of values.get(key) ?? []) pairs.push(`${queryEscape(key)}=${queryEscape(value)}`);
  }
  return pairs.join("&");
}

// Every writer request rewrites a query: plain ASCII, the common case, is its own UTF-8 and its own
// byte string, and skips the round trips through a Buffer.
// biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII is 0x00 to 0x7f, control characters included.
const plainAscii = /^[\x00-\x7f]*$/;

/** The UTF-8 bytes of `text` as a byte string. */
export function byteString(text: string): string {
  return plainAscii.test(text) ? text : Buffer.from(text, "utf8").toString("latin1");
}

const lossyUtf8 = new TextDecoder("utf-8");

/** A byte string read as UTF-8; malformed bytes become U+FFFD, as when Go ranges over a string. */
export function textOf(bytes: string): string {
  return plainAscii.test(bytes) ? bytes : lossyUtf8.decode(Buffer.from(bytes, "latin1"));
}

const badEscape = /%(?![0-9A-Fa-f]{2})/;
const needsUnescape = /[+%]/;
const needsEscape = /[^A-Za-z0-9\-_.~]/;

function queryUnescape(component: string): string | undefined {
  if (!needsUnescape.test(component)) return byteString(component);
  if (badEscape.test(component)) return undefined;
  return byteString(component).replace(/\+|%([0-9A-Fa-f]{2})/g, (_, hex: string | undefined) =>
    hex === undefined ? " " : String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

// url.QueryEscape: only A-Z a-z 0-9 - _ . ~ stay; space becomes `+`.
function queryEscape(bytes: string): string {
  if (!needsEscape.test(bytes)) return bytes;
  return bytes.replace(/[^A-Za-z0-9\-_.~]/g, (c) => (c === " " ? "+" : `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`));
}
