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

// A leading byte order mark is a character like any other to Go: kept.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * A byte string read as UTF-8 as Go reads it when it ranges over a string: a byte order mark is kept,
 * and each byte of a malformed sequence becomes a U+FFFD of its own (a decoder by the WHATWG rules,
 * Node's, makes one of a truncated sequence, so the labels, and the series, would differ).
 */
export function textOf(bytes: string): string {
  if (plainAscii.test(bytes)) return bytes;
  const buffer = Buffer.from(bytes, "latin1");
  try {
    return strictUtf8.decode(buffer);
  } catch {
    return decodeLikeGo(buffer);
  }
}

/** The valid range of the byte after a lead byte (`[low, high]`), and how many bytes follow it; Go's utf8 tables. */
function leadOf(byte: number): { low: number; high: number; follow: number } | undefined {
  if (byte >= 0xc2 && byte <= 0xdf) return { low: 0x80, high: 0xbf, follow: 1 };
  if (byte === 0xe0) return { low: 0xa0, high: 0xbf, follow: 2 };
  if (byte === 0xed) return { low: 0x80, high: 0x9f, follow: 2 };
  if (byte >= 0xe1 && byte <= 0xef) return { low: 0x80, high: 0xbf, follow: 2 };
  if (byte === 0xf0) return { low: 0x90, high: 0xbf, follow: 3 };
  if (byte === 0xf4) return { low: 0x80, high: 0x8f, follow: 3 };
  if (byte >= 0xf1 && byte <= 0xf3) return { low: 0x80, high: 0xbf, follow: 3 };
  return undefined;
}

/** utf8.DecodeRune over and over: a sequence that is not valid as a whole is one U+FFFD for its first byte. */
function decodeLikeGo(bytes: Buffer): string {
  let text = "";
  for (let i = 0; i < bytes.length; ) {
    const byte = bytes[i]!;
    if (byte < 0x80) {
      text += String.fromCharCode(byte);
      i++;
      continue;
    }
    const lead = leadOf(byte);
    const second = bytes[i + 1];
    let valid = lead !== undefined && second !== undefined && second >= lead.low && second <= lead.high;
    for (let k = 2; valid && k <= lead!.follow; k++) {
      const next = bytes[i + k];
      valid = next !== undefined && next >= 0x80 && next <= 0xbf;
    }
    if (!valid) {
      text += "\ufffd";
      i++;
      continue;
    }
    const length = lead!.follow + 1;
    text += bytes.toString("utf8", i, i + length);
    i += length;
  }
  return text;
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
