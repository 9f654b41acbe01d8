import { FunctionError } from "./function-error.js";
import { decimalDigits, plainDecimal, type DecimalDigits } from "./number-text.js";
import { describeValueType, isObjectValue } from "./value-type.js";

interface Verb {
  letter: string;
  minus: boolean;
  plus: boolean;
  space: boolean;
  sharp: boolean;
  zero: boolean;
  width: number;
  precision: number | undefined;
}

const integerRadix: Record<string, number> = { d: 10, b: 2, o: 8, x: 16, X: 16 };
const alternatePrefix: Record<string, string> = { b: "0b", o: "0", x: "0x", X: "0X" };
const floatLetters = new Set(["e", "E", "f", "F", "g", "G"]);

/**
 * Go's fmt.Sprintf, which is what Alloy's `string.format` runs: verbs `%v %s %q %t %d %b %o %x %X
 * %e %E %f %F %g %G` and `%%`, flags `- + # 0` and space, width, precision and `%[n]` value indexes.
 * Where Go writes text such as `%!d(string=x)` into the result, this throws: a value that does not
 * fit its verb, a verb without a value and an unused value are errors, since the result is usually
 * a URL or header that would otherwise fail far from its cause. `values[i]` is argument i + 1 of the
 * call, and errors point at it.
 */
export function formatString(format: string, values: readonly unknown[]): string {
  const chars = [...format];
  let index = 0;
  let nextValue = 0;
  let reordered = false;
  const used = new Set<number>();
  let result = "";

  const digits = (): number | undefined => {
    let text = "";
    while (/[0-9]/.test(chars[index] ?? "")) text += chars[index++];
    return text === "" ? undefined : Number(text);
  };
  const valueIndex = (): void => {
    if (chars[index] !== "[") return;
    const close = chars.indexOf("]", index);
    const position = Number(chars.slice(index + 1, close).join(""));
    if (close < 0 || !Number.isInteger(position) || position < 1 || position > values.length) {
      throw new FunctionError(`invalid value index in the format: there ${values.length === 1 ? "is 1 value" : `are ${values.length} values`}`, 0);
    }
    index = close + 1;
    nextValue = position - 1;
    reordered = true;
  };

  while (index < chars.length) {
    const char = chars[index++]!;
    if (char !== "%") {
      result += char;
      continue;
    }
    const verb: Verb = { letter: "", minus: false, plus: false, space: false, sharp: false, zero: false, width: 0, precision: undefined };
    for (let flag = chars[index]; flag !== undefined && "-+ #0".includes(flag); flag = chars[++index]) {
      if (flag === "-") verb.minus = true;
      else if (flag === "+") verb.plus = true;
      else if (flag === " ") verb.space = true;
      else if (flag === "#") verb.sharp = true;
      else verb.zero = true;
    }
    valueIndex();
    verb.width = digits() ?? 0;
    if (chars[index] === ".") {
      index++;
      verb.precision = digits() ?? 0;
    }
    valueIndex();
    const letter = chars[index++];
    if (letter === undefined) throw new FunctionError("the format ends in the middle of a verb", 0);
    if (letter === "%") {
      result += "%";
      continue;
    }
    // Go's fmt stops reading a width or precision at about a million (the rest of the verb then
    // prints as %!(NOVERB)); JavaScript formats at most 100 digits of a float (99 after the point
    // of %e), and throws past them where Go would go on.
    if (verb.width >= 1e6 || (verb.precision ?? 0) >= 1e6) throw new FunctionError(`%${letter}: a width or precision of a million or more`, 0);
    const maxPrecision = letter === "e" || letter === "E" ? 99 : 100;
    if ((verb.precision ?? 0) > maxPrecision && "eEfFgG".includes(letter)) {
      throw new FunctionError(`%${letter}: a precision over ${maxPrecision} is not supported`, 0);
    }
    verb.letter = letter;
    if (letter === "*") throw new FunctionError("widths and precisions taken from values (*) are not supported", 0);
    if (nextValue >= values.length) {
      throw new FunctionError(`%${letter} has no value (${values.length} given)`, 0);
    }
    used.add(nextValue);
    result += formatValue(verb, values[nextValue], nextValue + 1);
    nextValue++;
  }
  // Go reports unused values only when the format does not pick them by index.
  const unused = values.findIndex((_, position) => !used.has(position));
  if (!reordered && unused >= 0) throw new FunctionError(`value ${unused + 1} is not used by the format`, unused + 1);
  return result;
}

function formatValue(verb: Verb, value: unknown, argument: number): string {
  const { letter } = verb;
  const wrongType = (expected: string) => new FunctionError(`%${letter} needs ${expected}, got ${describeValueType(value)}`, argument);

  if (letter === "v") return pad(verb, "", formatAny(value, verb.sharp, argument), false);
  if (letter === "s" || letter === "q") {
    if (typeof value !== "string") throw wrongType("a string");
    const text = verb.precision === undefined ? value : [...value].slice(0, verb.precision).join("");
    return pad(verb, "", letter === "q" ? goQuote(text) : text, false);
  }
  if (letter === "t") {
    if (typeof value !== "boolean") throw wrongType("a bool");
    return pad(verb, "", String(value), false);
  }
  const radix = integerRadix[letter];
  if (radix !== undefined) {
    if (typeof value !== "number" || !Number.isInteger(value)) throw wrongType("a whole number");
    let magnitude = BigInt(Math.abs(value))
      .toString(radix)
      .padStart(verb.precision ?? 0, "0");
    if (letter === "X") magnitude = magnitude.toUpperCase();
    const prefix = sign(value, verb) + (verb.sharp ? (alternatePrefix[letter] ?? "") : "");
    // As in Go, a precision sets the digits, so the 0 flag does not pad.
    return pad(verb, prefix, magnitude, verb.precision === undefined);
  }
  if (floatLetters.has(letter)) {
    if (typeof value !== "number") throw wrongType("a number");
    return pad(verb, sign(value, verb), formatFloat(letter, Math.abs(value), verb.precision), true);
  }
  throw new FunctionError(`unsupported verb %${letter}`, 0);
}

/** `%v`: Go's default format, for the values Alloy decodes into Go's `any`. */
function formatAny(value: unknown, sharp: boolean, argument: number): string {
  if (typeof value === "string") return sharp ? goQuote(value) : value;
  if (typeof value === "number") return (value < 0 ? "-" : "") + formatFloat("v", Math.abs(value), undefined);
  if (typeof value === "boolean") return String(value);
  if (value === null) return "<nil>";
  if (!sharp && Array.isArray(value)) return `[${value.map((item) => formatAny(item, false, argument)).join(" ")}]`;
  if (!sharp && isObjectValue(value)) {
    const fields = Object.keys(value)
      .sort()
      .map((key) => `${key}:${formatAny(value[key], false, argument)}`);
    return `map[${fields.join(" ")}]`;
  }
  throw new FunctionError(`%${sharp ? "#" : ""}v cannot format a ${describeValueType(value)}`, argument);
}

/**
 * `magnitude` (finite, not negative: evaluation never makes infinities) as `%e %f %g` and `%v` write
 * it; whole numbers count as Go integers for `%v`.
 */
function formatFloat(letter: string, magnitude: number, precision: number | undefined): string {
  switch (letter) {
    case "v":
      return Number.isInteger(magnitude) && magnitude < 2 ** 63 ? BigInt(magnitude).toString() : general(magnitude, undefined);
    case "e":
    case "E": {
      const decimals = precision ?? 6;
      const text = exponentForm(decimalDigits(magnitude, decimals + 1), decimals);
      return letter === "E" ? text.toUpperCase() : text;
    }
    case "f":
    case "F":
      // Past 1e21 toFixed switches to exponent form; such numbers are whole anyway.
      return magnitude < 1e21 ? magnitude.toFixed(precision ?? 6) : plainDecimal(decimalDigits(magnitude)) + (precision ? `.${"0".repeat(precision)}` : "");
    default: {
      const text = general(magnitude, precision);
      return letter === "G" ? text.toUpperCase() : text;
    }
  }
}

/** `%g`: exponent form for large and small exponents, as Go decides it, without trailing zeros. */
function general(magnitude: number, precision: number | undefined): string {
  const significant = precision === undefined ? undefined : Math.max(precision, 1);
  const decimal = decimalDigits(magnitude, significant);
  const count = decimal.digits.length;
  let limit = significant ?? 6;
  if (significant !== undefined && significant > count && count >= decimal.exponent + 1) limit = count;
  return decimal.exponent < -4 || decimal.exponent >= limit ? exponentForm(decimal, count - 1) : plainDecimal(decimal);
}

/** `d.ddde+XX`, with `decimals` digits after the point and at least two in the exponent, as Go writes it. */
function exponentForm({ digits, exponent }: DecimalDigits, decimals: number): string {
  const mantissa = digits.padEnd(decimals + 1, "0");
  const fraction = decimals > 0 ? `.${mantissa.slice(1)}` : "";
  return `${mantissa[0]}${fraction}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
}

function sign(value: number, verb: Verb): string {
  if (value < 0) return "-";
  return verb.plus ? "+" : verb.space ? " " : "";
}

/** Pads to the width: after the text with `-`, with zeros after the sign for numbers with `0`, else before. */
function pad(verb: Verb, prefix: string, text: string, zeroPadding: boolean): string {
  const fill = verb.width - [...prefix].length - [...text].length;
  if (fill <= 0) return prefix + text;
  if (verb.minus) return prefix + text + " ".repeat(fill);
  if (zeroPadding && verb.zero) return prefix + "0".repeat(fill) + text;
  return " ".repeat(fill) + prefix + text;
}

const quoteEscapes: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
};
/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** Go's strconv.Quote: a double-quoted string with Go escapes for what is not printable. */
function goQuote(text: string): string {
  let quoted = '"';
  for (const char of text) {
    const codePoint = char.codePointAt(0)!;
    const hex = (width: number) => codePoint.toString(16).padStart(width, "0");
    if (quoteEscapes[char] !== undefined) quoted += quoteEscapes[char];
    else if (printable.test(char)) quoted += char;
    else if (codePoint < 0x80) quoted += `\\x${hex(2)}`;
    else if (codePoint < 0x10000) quoted += `\\u${hex(4)}`;
    else quoted += `\\U${hex(8)}`;
  }
  return `${quoted}"`;
}
