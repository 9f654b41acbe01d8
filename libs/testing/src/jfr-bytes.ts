import { randomBytes } from "./seeded-random.js";

const JFR_MAGIC = Buffer.from("FLR\0", "latin1");

/**
 * Opaque bytes shaped like a Java Flight Recorder file: the `FLR\0` magic, version 2.1, then noise.
 * The relay never parses JFR, it only has to forward it byte for byte.
 */
export function jfrBytes(size = 4_096, seed = 1): Buffer {
  if (!Number.isInteger(size) || size < 8) throw new RangeError(`JFR size must be an integer >= 8, got ${size}`);
  const bytes = randomBytes(size, seed);
  JFR_MAGIC.copy(bytes, 0);
  bytes.writeUInt16BE(2, 4);
  bytes.writeUInt16BE(1, 6);
  return bytes;
}
