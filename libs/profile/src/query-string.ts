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
    const parsed = parsePair(pair);
    if (parsed === undefined) continue;
    const [key, value] = parsed;
    const list = values.get(key);
    if (list === undefined) values.set(key, [value]);
    else list.push(value);
  }
  return values;
}

/** `parseQuery(query).get(key)?.[0]`, without decoding the values of other keys. */
export function firstValue(query: string, key: string): string | undefined {
  for (const pair of query.split("&")) {
    const parsed = parsePair(pair, key);
    if (parsed !== undefined) return parsed[1];
  }
  return undefined;
}

// What url.QueryEscape leaves as it is: A-Z a-z 0-9 - _ . ~
const unreservedClass = "A-Za-z0-9\\-_.~";
const needsEscape = new RegExp(`[^${unreservedClass}]`);
const unreservedByte = Uint8Array.from({ length: 256 }, (_, c) => (needsEscape.test(String.fromCharCode(c)) ? 0 : 1));
// Every writer request rewrites a query: a pair of unreserved characters only, the common case,
// reads as itself, without escapes to look for.
const plainPair = new RegExp(`^[${unreservedClass}]*(?:=[${unreservedClass}]*)?$`);

/** One `key=value` pair decoded, or undefined where Go skips it (or its key is not `only`). */
function parsePair(pair: string, only?: string): [string, string] | undefined {
  if (pair === "") return undefined;
  const eq = pair.indexOf("=");
  const rawKey = eq === -1 ? pair : pair.slice(0, eq);
  const rawValue = eq === -1 ? "" : pair.slice(eq + 1);
  if (plainPair.test(pair)) return only === undefined || rawKey === only ? [rawKey, rawValue] : undefined;
  if (pair.includes(";")) return undefined;
  const key = queryUnescape(rawKey);
  if (key === undefined || (only !== undefined && key !== only)) return undefined;
  const value = queryUnescape(rawValue);
  return value === undefined ? undefined : [key, value];
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

// A character beyond a byte: text, not bytes off the wire.
// biome-ignore lint/suspicious/noControlCharactersInRegex: a byte is 0x00 to 0xff, control characters included.
const wideCharacter = /[^\x00-\xff]/;

/**
 * A query off the wire is a byte string already (Node reads a request target one character per
 * byte: raw UTF-8 `é` is "\xc3\xa9"), so its bytes are kept as they are, as Go keeps them; only text
 * with characters beyond a byte, which never comes off the wire, is taken as UTF-8.
 */
function queryBytes(component: string): string {
  return wideCharacter.test(component) ? byteString(component) : component;
}

function queryUnescape(component: string): string | undefined {
  if (!needsUnescape.test(component)) return queryBytes(component);
  if (badEscape.test(component)) return undefined;
  // A loop over the bytes: a replace with a callback per escape cost the writer more than the rest
  // of a query's rewrite.
  const bytes = queryBytes(component);
  let text = "";
  let from = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes.charCodeAt(i);
    if (c !== plus && c !== percent) continue;
    text += bytes.slice(from, i) + (c === plus ? " " : String.fromCharCode(Number.parseInt(bytes.slice(i + 1, i + 3), 16)));
    if (c === percent) i += 2;
    from = i + 1;
  }
  return text + bytes.slice(from);
}

const plus = 0x2b;
const percent = 0x25;
const hexDigits = "0123456789ABCDEF";

// url.QueryEscape: only unreserved bytes stay; space becomes `+`. `bytes` is a byte string: every
// character is below 256.
function queryEscape(bytes: string): string {
  if (!needsEscape.test(bytes)) return bytes;
  let text = "";
  let from = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes.charCodeAt(i);
    if (unreservedByte[c] === 1) continue;
    text += bytes.slice(from, i) + (c === 0x20 ? "+" : `%${hexDigits[c >> 4]}${hexDigits[c & 15]}`);
    from = i + 1;
  }
  return text + bytes.slice(from);
}
