/** A size that is not a whole number of bytes with an optional known unit. */
export class InvalidByteSizeError extends Error {
  override readonly name = "InvalidByteSizeError";

  constructor(
    readonly text: string,
    reason: string,
  ) {
    super(`invalid size ${JSON.stringify(text)}: ${reason}`);
  }
}

const bytesPerUnit: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
};

const size = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/;

/** Parses `1048576`, `512KiB`, `8MiB`, `1GiB` (or SI `KB`/`MB`/`GB`, and `B`) into bytes. */
export function parseByteSize(text: string): number {
  const match = size.exec(text.trim());
  if (!match) {
    throw new InvalidByteSizeError(text, "expected a number of bytes, optionally with a unit such as KiB, MiB or GiB");
  }
  const [, amount = "", unit = ""] = match;
  const scale = unit === "" ? 1 : bytesPerUnit[unit];
  if (scale === undefined) {
    const known = Object.keys(bytesPerUnit).join(", ");
    throw new InvalidByteSizeError(text, `unknown unit ${JSON.stringify(unit)}; use ${known}`);
  }
  const bytes = Number(amount) * scale;
  if (bytes > Number.MAX_SAFE_INTEGER) throw new InvalidByteSizeError(text, "too large");
  if (!Number.isInteger(bytes)) throw new InvalidByteSizeError(text, "not a whole number of bytes");
  return bytes;
}
