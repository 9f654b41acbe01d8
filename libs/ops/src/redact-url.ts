/**
 * Masks the password of a URL's userinfo (`redis://:secret@host` -> `redis://:***@host`) so that
 * connection strings can be logged. Works on the raw string instead of `URL` so that the rest of the
 * text is left exactly as the user wrote it, even when it is not a valid URL.
 */
export function redactUrl(url: string): string {
  const schemeEnd = url.indexOf("://");
  if (schemeEnd < 0) {
    return url;
  }
  const authorityStart = schemeEnd + 3;
  const authorityLength = url.slice(authorityStart).search(/[/?#]/);
  const authorityEnd = authorityLength < 0 ? url.length : authorityStart + authorityLength;
  // The last "@" ends the userinfo: unencoded "@" in passwords are common in hand-written URLs.
  const at = url.lastIndexOf("@", authorityEnd - 1);
  if (at < authorityStart) {
    return url;
  }
  const colon = url.indexOf(":", authorityStart);
  if (colon < 0 || colon >= at - 1) {
    return url;
  }
  return `${url.slice(0, colon + 1)}***${url.slice(at)}`;
}
