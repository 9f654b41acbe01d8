import { createHash } from "node:crypto";

/** What tells one content of a watched file from another, without keeping a secret's text twice. */
export function contentDigest(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
