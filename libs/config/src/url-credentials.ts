/**
 * A URL part holds a `%` that starts no %-escape: WHATWG URL keeps it as written, Go's url.Parse
 * refuses the URL. The message never shows the text, which may be a password.
 */
export class MalformedEscapeError extends Error {
  override readonly name = "MalformedEscapeError";

  constructor(options?: { cause?: unknown }) {
    super("a malformed %-escape (write % as %25)", options);
  }
}

/**
 * `text` %-decoded, as a URL's credentials and paths are used.
 * @throws MalformedEscapeError
 */
export function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch (cause) {
    throw new MalformedEscapeError({ cause });
  }
}

/**
 * A URL's username and password, %-decoded: what goes out as Basic credentials.
 * @throws MalformedEscapeError
 */
export function urlCredentials(url: URL): { username: string; password: string } {
  return { username: percentDecoded(url.username), password: percentDecoded(url.password) };
}
