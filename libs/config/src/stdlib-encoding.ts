import { FunctionError } from "./function-error.js";
import type { StdlibFunction } from "./stdlib-function.js";
import { describeValueType, isObjectValue } from "./value-type.js";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Bytes as text: configuration values are text, so bytes that are not UTF-8 are an error. */
function utf8Text(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (error) {
    throw new FunctionError("the decoded bytes are not UTF-8 text", 0, { cause: error });
  }
}

/** Go's padded base64 (RFC 4648), standard or URL alphabet; as in Go, line breaks are skipped. */
const base64Alphabets = {
  standard: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
  url: /^(?:[A-Za-z0-9\-_]{4})*(?:[A-Za-z0-9\-_]{2}==|[A-Za-z0-9\-_]{3}=)?$/,
};

function fromBase64(text: string, alphabet: keyof typeof base64Alphabets): string {
  const encoded = text.replace(/[\r\n]/g, "");
  // The message never quotes the text, which is often a secret.
  if (!base64Alphabets[alphabet].test(encoded)) throw new FunctionError("argument 1 is not valid base64", 0);
  return utf8Text(Buffer.from(encoded, alphabet === "url" ? "base64url" : "base64"));
}

function toBase64(text: string, alphabet: keyof typeof base64Alphabets): string {
  const encoded = Buffer.from(text, "utf8").toString("base64");
  return alphabet === "url" ? encoded.replaceAll("+", "-").replaceAll("/", "_") : encoded;
}

/** JSON objects become prototype-free objects, like every object the evaluator builds. */
function fromJsonValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJsonValue);
  // Go refuses numbers a float64 cannot hold; JSON.parse would make them infinite.
  if (typeof value === "number" && !Number.isFinite(value)) throw new FunctionError("argument 1 has a number out of range", 0);
  if (typeof value !== "object" || value === null) return value;
  const object: Record<string, unknown> = Object.create(null);
  for (const [key, field] of Object.entries(value)) object[key] = fromJsonValue(field);
  return object;
}

function fromJson(text: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Neither the message nor a cause: V8's messages quote the text, which is often a secret.
    throw new FunctionError("argument 1 is not valid JSON", 0);
  }
  return fromJsonValue(parsed);
}

/** Go's JSON strings escape HTML characters and the line separators JavaScript's do not. */
function jsonString(text: string): string {
  return JSON.stringify(text).replace(/[<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Go's json.Marshal of what Alloy decodes into `any`: object keys sorted. */
function jsonValue(value: unknown): string {
  if (typeof value === "string") return jsonString(value);
  if (value === null || typeof value === "boolean" || typeof value === "number") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(jsonValue).join(",")}]`;
  if (isObjectValue(value)) {
    const fields = Object.keys(value)
      .sort()
      .map((key) => `${jsonString(key)}:${jsonValue(value[key])}`);
    return `{${fields.join(",")}}`;
  }
  throw new FunctionError(`argument 1 holds a ${describeValueType(value)}, which JSON cannot represent`, 0);
}

/** Go's url.QueryEscape: everything but letters, digits and `-_.~` percent-encoded, spaces as `+`. */
function urlEncode(text: string): string {
  let encoded: string;
  try {
    encoded = encodeURIComponent(text);
  } catch (error) {
    throw new FunctionError("argument 1 is not valid Unicode text", 0, { cause: error });
  }
  return encoded.replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`).replaceAll("%20", "+");
}

/** Go's url.QueryUnescape. */
function urlDecode(text: string): string {
  if (/%(?![0-9A-Fa-f]{2})/.test(text)) throw new FunctionError("argument 1 is not valid URL encoding", 0);
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch (error) {
    throw new FunctionError("the decoded bytes are not UTF-8 text", 0, { cause: error });
  }
}

/** The `encoding` namespace. */
export const encodingFunctions = {
  from_json: { arity: [1, 1], run: (args) => fromJson(args.string(0)) },
  from_base64: { arity: [1, 1], run: (args) => fromBase64(args.string(0), "standard") },
  from_URLbase64: { arity: [1, 1], run: (args) => fromBase64(args.string(0), "url") },
  to_base64: { arity: [1, 1], run: (args) => toBase64(args.string(0), "standard") },
  to_URLbase64: { arity: [1, 1], run: (args) => toBase64(args.string(0), "url") },
  to_json: {
    arity: [1, 1],
    run: (args) => {
      const [value] = args.values;
      // Go's jsonEncode only takes a map.
      if (!isObjectValue(value)) throw new FunctionError(`argument 1: expected object, got ${describeValueType(value)}`, 0);
      return jsonValue(value);
    },
  },
  url_encode: { arity: [1, 1], run: (args) => urlEncode(args.string(0)) },
  url_decode: { arity: [1, 1], run: (args) => urlDecode(args.string(0)) },
} satisfies Record<string, StdlibFunction>;
