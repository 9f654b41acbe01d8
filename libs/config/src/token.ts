import type { Position } from "./diagnostic.js";

/** Operators are punctuation too: the parser tells them apart by where they appear. */
export type Punctuation =
  | "{"
  | "}"
  | "["
  | "]"
  | "("
  | ")"
  | "="
  | ","
  | "."
  | "||"
  | "&&"
  | "!"
  | "=="
  | "!="
  | "<"
  | "<="
  | ">"
  | ">="
  | "+"
  | "-"
  | "*"
  | "/"
  | "%"
  | "^";

interface TokenBase {
  pos: Position;
  /** Just past the token's last character: where Alloy's scanner ends a line that ends with it. */
  end: Position;
  /** Statements end at a line break, so the parser needs to know where lines end. */
  newlineBefore: boolean;
}

/** What a token is, apart from where. */
export type TokenValue =
  | { kind: "identifier"; name: string }
  /**
   * `quoted`: a double-quoted string's text between its quotes, escapes as written, which Alloy takes
   * for a block label and an object key; absent for a raw (backquoted) string.
   */
  | { kind: "string"; value: string; quoted?: string }
  /** `float`: a literal Alloy reads as a float (a fraction or an exponent), whatever its value. */
  | { kind: "number"; value: number; float: boolean }
  | { kind: "punctuation"; symbol: Punctuation }
  | { kind: "eof" };

export type Token = TokenBase & TokenValue;

/** How a token is named in syntax errors. */
export function describeToken(token: Token): string {
  switch (token.kind) {
    case "identifier":
      return `identifier ${token.name}`;
    case "string":
      return "string";
    case "number":
      return "number";
    case "punctuation":
      return `"${token.symbol}"`;
    case "eof":
      return "end of file";
  }
}
