/** A number as significant decimal digits (no trailing zeros) and the power of ten of the first one. */
export interface DecimalDigits {
  digits: string;
  exponent: number;
}

/** The digits of `|n|`, rounded to `significant` digits, or the fewest that read back as `n`. */
export function decimalDigits(n: number, significant?: number): DecimalDigits {
  const [mantissa = "0", exponent = "0"] = Math.abs(n)
    .toExponential(significant === undefined ? undefined : significant - 1)
    .split("e");
  return { digits: mantissa.replace(".", "").replace(/(?<=.)0+$/, ""), exponent: Number(exponent) };
}

/** The digits written out in full, without an exponent: `1.5e-7` is `0.00000015`. */
export function plainDecimal({ digits, exponent }: DecimalDigits): string {
  if (exponent < 0) return `0.${"0".repeat(-exponent - 1)}${digits}`;
  if (exponent >= digits.length - 1) return digits + "0".repeat(exponent - digits.length + 1);
  return `${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
}

/**
 * A number where Alloy expects a string: the shortest decimal that reads back as the number, never
 * in exponent form (Go's `strconv.FormatFloat(n, 'f', -1, 64)`). Values are always finite: evaluation
 * refuses what would overflow.
 */
export function numberText(n: number): string {
  return (n < 0 ? "-" : "") + plainDecimal(decimalDigits(n));
}
