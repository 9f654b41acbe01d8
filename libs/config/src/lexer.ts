import { ConfigError } from "./config-error.js";
import { diagnosticAt, type Position } from "./diagnostic.js";
import type { Punctuation, Token, TokenValue } from "./token.js";

const identifierStart = /[\p{L}_]/u;
// Go's unicode.IsDigit: decimal digits only (Nd), not ² or Ⅻ.
const identifierPart = /[\p{L}\p{Nd}_]/u;
const digit = /[0-9]/;
const hexDigit = /[0-9a-fA-F]/;
const octalDigit = /[0-7]/;
const utf8 = new TextDecoder();

const simpleEscapes: Record<string, string> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
  '"': '"',
};

const punctuation: ReadonlySet<string> = new Set<Punctuation>([
  "{",
  "}",
  "[",
  "]",
  "(",
  ")",
  "=",
  ",",
  ".",
  "||",
  "&&",
  "!",
  "==",
  "!=",
  "<",
  "<=",
  ">",
  ">=",
  "+",
  "-",
  "*",
  "/",
  "%",
  "^",
]);

function isPunctuation(text: string): text is Punctuation {
  return punctuation.has(text);
}

/** Splits Alloy-syntax source into tokens; throws a ConfigError at the first character it cannot read. */
export function tokenize(source: string, file: string): Token[] {
  return new Lexer(source, file).run();
}

class Lexer {
  private index: number;
  private line = 1;
  private col = 1;
  private newlineBefore = true;
  private readonly tokens: Token[] = [];

  constructor(
    private readonly source: string,
    private readonly file: string,
  ) {
    // Skip the byte order mark some editors put at the start of a file.
    this.index = source.startsWith("\ufeff") ? 1 : 0;
  }

  run(): Token[] {
    for (;;) {
      this.skipSpaceAndComments();
      const pos = this.position();
      const newlineBefore = this.newlineBefore;
      this.newlineBefore = false;
      const char = this.peek();
      if (char === undefined) {
        this.tokens.push({ pos, end: pos, newlineBefore, kind: "eof" });
        return this.tokens;
      }
      const token = this.token(char, pos);
      this.tokens.push({ pos, end: this.position(), newlineBefore, ...token });
    }
  }

  private token(char: string, pos: Position): TokenValue {
    if (identifierStart.test(char)) return { kind: "identifier", name: this.identifier() };
    if (digit.test(char) || (char === "." && digit.test(this.peek(1) ?? ""))) return { kind: "number", ...this.number(pos) };
    if (char === '"') {
      const from = this.index + 1;
      const value = this.quotedString(pos);
      return { kind: "string", value, quoted: this.source.slice(from, this.index - 1) };
    }
    if (char === "`") return { kind: "string", value: this.rawString(pos) };
    return { kind: "punctuation", symbol: this.punctuation(pos) };
  }

  private punctuation(start: Position): Punctuation {
    const char = this.peek()!;
    // The longest match, so that `<=` is one token and not `<` then `=`.
    const pair = `${char}${this.peek(1) ?? ""}`;
    if (pair.length > char.length && isPunctuation(pair)) {
      this.advance();
      this.advance();
      return pair;
    }
    if (isPunctuation(char)) {
      this.advance();
      return char;
    }
    if (char === "|" || char === "&") throw this.error(start, `unexpected character "${char}"; did you mean "${char}${char}"?`);
    throw this.error(start, `unexpected character ${JSON.stringify(char)}`);
  }

  private skipSpaceAndComments(): void {
    for (;;) {
      const char = this.peek();
      if (char === "\n") {
        this.newlineBefore = true;
        this.advance();
      } else if (char === " " || char === "\t" || char === "\r") {
        this.advance();
      } else if (char === "/" && this.peek(1) === "/") {
        while (this.peek() !== undefined && this.peek() !== "\n") this.advance();
      } else if (char === "/" && this.peek(1) === "*") {
        const start = this.position();
        this.advance();
        this.advance();
        while (!(this.peek() === "*" && this.peek(1) === "/")) {
          if (this.peek() === undefined) throw this.error(start, "unterminated block comment");
          if (this.peek() === "\n") this.newlineBefore = true;
          this.advance();
        }
        this.advance();
        this.advance();
      } else {
        return;
      }
    }
  }

  private identifier(): string {
    let name = "";
    for (let char = this.peek(); char !== undefined && identifierPart.test(char); char = this.peek()) {
      name += this.advance();
    }
    return name;
  }

  private number(start: Position): { value: number; float: boolean } {
    let text = this.digits();
    // As Alloy's scanner: a dot makes a float, digits after it or not (`1.` is 1.0).
    if (this.peek() === ".") {
      text += this.advance() + this.digits();
    }
    if (this.peek() === "e" || this.peek() === "E") {
      const sign = this.peek(1) === "+" || this.peek(1) === "-" ? 1 : 0;
      if (digit.test(this.peek(1 + sign) ?? "")) {
        text += this.advance();
        if (sign) text += this.advance();
        text += this.digits();
      }
    }
    const next = this.peek();
    if (next !== undefined && identifierPart.test(next)) {
      // The common slip is an unquoted duration such as `remote_timeout = 10s`.
      throw this.error(start, `invalid number ${JSON.stringify(text + next)}; durations and other text must be quoted`);
    }
    // As Alloy reads an integer literal (Go's strconv.ParseInt with base 0): a leading zero makes it
    // octal, `010` is 8; one with an 8 or 9 in it is read as a decimal float instead.
    // Past uint64, Go's ParseInt and ParseUint fail and ParseFloat reads the digits as decimal.
    const octal = /^0[0-7]+$/.test(text) && BigInt(`0o${text.slice(1)}`) <= 2n ** 64n - 1n;
    const value = octal ? Number.parseInt(text, 8) : Number(text);
    if (!Number.isFinite(value)) throw this.error(start, `number ${text} is out of range`);
    return { value, float: !octal && (/[.eE]/.test(text) || /^0\d/.test(text)) };
  }

  private digits(): string {
    let text = "";
    while (digit.test(this.peek() ?? "")) text += this.advance();
    return text;
  }

  private quotedString(start: Position): string {
    this.advance();
    let value = "";
    // `\x..` and octal escapes are bytes, as in Go: a run of them is read as UTF-8 ("\xc3\xa9" is é).
    let bytes: number[] = [];
    const flush = () => {
      if (bytes.length > 0) value += utf8.decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (;;) {
      const char = this.peek();
      if (char === undefined || char === "\n") throw this.error(start, "unterminated string");
      if (char === '"') {
        this.advance();
        flush();
        return value;
      }
      const next = char === "\\" ? this.escape() : this.advance();
      if (typeof next === "number") {
        bytes.push(next);
      } else {
        flush();
        value += next;
      }
    }
  }

  /** A character, or a byte (`\x..`, octal). */
  private escape(): string | number {
    const pos = this.position();
    this.advance();
    const char = this.peek();
    const simple = char === undefined ? undefined : simpleEscapes[char];
    if (simple !== undefined) {
      this.advance();
      return simple;
    }
    switch (char) {
      case "x":
        return this.byteEscape(pos, 2, hexDigit, 16);
      case "u":
        return this.codePointEscape(pos, 4, hexDigit, 16);
      case "U":
        return this.codePointEscape(pos, 8, hexDigit, 16);
      default:
        if (char !== undefined && octalDigit.test(char)) return this.byteEscape(pos, 3, octalDigit, 8, false);
        throw this.error(pos, `invalid escape sequence "\\${char ?? ""}" in string`);
    }
  }

  private codePointEscape(start: Position, length: number, allowed: RegExp, radix: number): string {
    const text = this.escapeDigits(start, length, allowed, true);
    const codePoint = Number.parseInt(text, radix);
    if (codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
      throw this.error(start, `invalid escape sequence in string: ${text} is not a valid character`);
    }
    return String.fromCodePoint(codePoint);
  }

  private byteEscape(start: Position, length: number, allowed: RegExp, radix: number, hasLetter = true): number {
    const text = this.escapeDigits(start, length, allowed, hasLetter);
    const byte = Number.parseInt(text, radix);
    if (byte > 0xff) throw this.error(start, `invalid escape sequence in string: ${text} is not a valid character`);
    return byte;
  }

  private escapeDigits(start: Position, length: number, allowed: RegExp, hasLetter: boolean): string {
    if (hasLetter) this.advance();
    let text = "";
    for (let i = 0; i < length; i++) {
      const char = this.peek();
      if (char === undefined || !allowed.test(char)) {
        throw this.error(start, `invalid escape sequence in string: expected ${length} digits`);
      }
      text += this.advance();
    }
    return text;
  }

  private rawString(start: Position): string {
    this.advance();
    let value = "";
    for (;;) {
      const char = this.peek();
      if (char === undefined) throw this.error(start, "unterminated raw string");
      this.advance();
      if (char === "`") return value;
      // As Go's strconv.Unquote: a carriage return in a raw string is dropped (a file saved with CRLF).
      if (char !== "\r") value += char;
    }
  }

  /** The character (whole code point) `ahead` characters from here. */
  private peek(ahead = 0): string | undefined {
    let index = this.index;
    for (let i = 0; i < ahead && index < this.source.length; i++) {
      index += this.source.codePointAt(index)! > 0xffff ? 2 : 1;
    }
    const codePoint = this.source.codePointAt(index);
    return codePoint === undefined ? undefined : String.fromCodePoint(codePoint);
  }

  private advance(): string {
    const char = this.peek()!;
    this.index += char.length;
    if (char === "\n") {
      this.line++;
      this.col = 1;
    } else {
      this.col++;
    }
    return char;
  }

  private position(): Position {
    return { line: this.line, col: this.col };
  }

  private error(pos: Position, message: string): ConfigError {
    return new ConfigError([diagnosticAt(this.file, pos, message)]);
  }
}
