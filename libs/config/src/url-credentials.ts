/**
 * A URL part holds a `%` that starts no %-escape: WHATWG URL keeps it as written, Go's url.Parse
 * refuses the URL. The message never shows the text, which may be a password.
 */
export class MalformedEscapeError extends Error {
  override readonly name = "MalformedEscapeError";

  constructor() {
    super("a malformed %-escape (write % as %25)");
  }
}

/** A `%` not followed by two hex digits: all that Go's url.Parse refuses in a %-encoded part. */
const malformedEscape = /%(?![0-9A-Fa-f]{2})/;

/**
 * The bytes `text` %-decodes to, as Go's url.Parse decodes a URL's parts: any escape is a byte
 * (`%FF`, a lone `%C3`), whether or not the bytes are UTF-8.
 * @throws MalformedEscapeError
 */
export function percentDecoded(text: string): Buffer {
  if (malformedEscape.test(text)) throw new MalformedEscapeError();
  // Escapes at the odd places of the split, the text between them at the even ones.
  const parts = text.split(/%([0-9A-Fa-f]{2})/);
  return Buffer.concat(parts.map((part, i) => (i % 2 === 1 ? Buffer.of(Number.parseInt(part, 16)) : Buffer.from(part))));
}

/**
 * A URL's username and password, %-decoded to bytes: what goes out as Basic credentials.
 * @throws MalformedEscapeError
 */
export function urlCredentials(url: URL): { username: Buffer; password: Buffer } {
  return { username: percentDecoded(url.username), password: percentDecoded(url.password) };
}
