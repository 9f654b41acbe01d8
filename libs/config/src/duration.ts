/** A duration string that Go's time.ParseDuration (and so Alloy) would reject, or a negative one. */
export class InvalidDurationError extends Error {
  override readonly name = "InvalidDurationError";

  constructor(
    readonly text: string,
    reason: string,
  ) {
    super(`invalid duration ${JSON.stringify(text)}: ${reason}`);
  }
}

const nanosecondsPerUnit: Record<string, number> = {
  ns: 1,
  us: 1e3,
  "\u00b5s": 1e3, // micro sign
  "\u03bcs": 1e3, // Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's limit: a time.Duration is an int64 count of nanoseconds. */
const maxNanoseconds = 2 ** 63 - 1;

const component = /(\d*)(?:\.(\d*))?([^\d.]*)/y;

/**
 * Parses a Go-style duration ("500ms", "1m30s", "1.5h", "0") into milliseconds, which may be
 * fractional below a millisecond. Signs are not accepted: every duration here is a wait or a timeout.
 */
export function parseDuration(text: string): number {
  if (text === "0") return 0;
  if (text === "") throw new InvalidDurationError(text, "empty");
  let nanoseconds = 0;
  for (let index = 0; index < text.length; ) {
    component.lastIndex = index;
    const [match = "", whole = "", fraction = "", unit = ""] = component.exec(text) ?? [];
    if (whole === "" && fraction === "") {
      throw new InvalidDurationError(text, "expected a number followed by a unit such as ms, s, m or h");
    }
    if (unit === "") throw new InvalidDurationError(text, "missing unit (ns, us, ms, s, m, h)");
    const scale = nanosecondsPerUnit[unit];
    if (scale === undefined) throw new InvalidDurationError(text, `unknown unit ${JSON.stringify(unit)}`);
    // Whole and fraction separately, so that "0.1s" is exactly 100 ms.
    nanoseconds += Number(whole || "0") * scale + Math.round(Number(`0.${fraction}`) * scale);
    index += match.length;
  }
  if (nanoseconds > maxNanoseconds) throw new InvalidDurationError(text, "too large");
  return nanoseconds / 1e6;
}
