import { isUtf8 } from "node:buffer";

/**
 * Whether bytes are well-formed UTF-8. Pyroscope rejects label values that are not; decoded JS
 * strings hide the problem, so callers check the raw bytes.
 */
export function isValidUtf8(bytes: Uint8Array): boolean {
  return isUtf8(bytes);
}
