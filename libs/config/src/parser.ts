import type { AlloyFile, BinaryOperator, Expression, ObjectField, Statement } from "./ast.js";
import { ConfigError } from "./config-error.js";
import { diagnosticAt } from "./diagnostic.js";
import { tokenize } from "./lexer.js";
import { describeToken, type Punctuation, type Token } from "./token.js";

type LeftAssociativeOperator = Exclude<BinaryOperator, "^">;

/** Literals to Alloy's scanner, so never a name. */
const keywords: ReadonlySet<string> = new Set(["true", "false", "null"]);

/** How tightly each binary operator binds; `^` is parsed on its own, being right associative. */
const binaryPrecedence: Record<LeftAssociativeOperator, number> = {
  "||": 1,
  "&&": 2,
  "==": 3,
  "!=": 3,
  "<": 3,
  "<=": 3,
  ">": 3,
  ">=": 3,
  "+": 4,
  "-": 4,
  "*": 5,
  "/": 5,
  "%": 5,
};

function isLeftAssociativeOperator(symbol: Punctuation): symbol is LeftAssociativeOperator {
  return Object.hasOwn(binaryPrecedence, symbol);
}

/** Parses Alloy-syntax source into a tree; throws a ConfigError positioned at the first syntax error. */
export function parseAlloy(source: string, file: string): AlloyFile {
  return new Parser(tokenize(source, file), file).alloyFile();
}

class Parser {
  private index = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly file: string,
  ) {}

  alloyFile(): AlloyFile {
    const body = this.body();
    const token = this.peek();
    if (token.kind !== "eof") throw this.unexpected(token, "a block or attribute");
    return { body };
  }

  /** Statements up to a closing brace or the end of the file. */
  private body(): Statement[] {
    const body: Statement[] = [];
    for (;;) {
      const token = this.peek();
      if (token.kind === "eof" || this.isSymbol(token, "}")) return body;
      if (body.length > 0 && !token.newlineBefore) throw this.unexpected(token, "a line break");
      body.push(this.statement());
    }
  }

  private statement(): Statement {
    const first = this.peek();
    if (first.kind !== "identifier") throw this.unexpected(first, "a block or attribute");
    const name = this.dottedName();
    const next = this.peek();
    if (this.isSymbol(next, "=")) {
      if (name.length > 1) throw this.error(next, `attribute name ${name.join(".")} must not contain dots`);
      this.index++;
      return { kind: "attribute", name: first.name, pos: first.pos, value: this.expression() };
    }
    let label: string | undefined;
    if (next.kind === "string") {
      // As Alloy: the text between the quotes, not unescaped (the label check then refuses escapes).
      if (next.quoted === undefined) throw this.error(next, "expected block label to be a double quoted string");
      label = next.quoted;
      this.index++;
    }
    this.expect("{", label === undefined ? `"=" or "{" after ${name.join(".")}` : `"{" after the block label`);
    const body = this.body();
    this.expect("}", `"}" closing block ${name.join(".")}`);
    return { kind: "block", name: name.join("."), pos: first.pos, body, ...(label === undefined ? {} : { label }) };
  }

  /**
   * Alloy's precedence, loosest first: `||`, `&&`, comparisons, `+ -`, `* / %`, then `^` (right
   * associative), unary `! -`, and `.name`, `[index]`, `(arguments)`. As in Alloy, a line break ends
   * an expression: an operator at the start of the next line does not continue it.
   */
  private expression(minPrecedence = 1): Expression {
    let left = this.power();
    for (;;) {
      const token = this.peek();
      if (token.kind !== "punctuation" || token.newlineBefore || !isLeftAssociativeOperator(token.symbol)) return left;
      const operator = token.symbol;
      const precedence = binaryPrecedence[operator];
      if (precedence < minPrecedence) return left;
      this.index++;
      const right = this.expression(precedence + 1);
      left = { kind: "binary", operator, left, right, pos: left.pos };
    }
  }

  private power(): Expression {
    const left = this.unary();
    const token = this.peek();
    if (!this.isSymbol(token, "^") || token.newlineBefore) return left;
    this.index++;
    return { kind: "binary", operator: "^", left, right: this.power(), pos: left.pos };
  }

  private unary(): Expression {
    const token = this.peek();
    if (token.kind === "punctuation" && (token.symbol === "!" || token.symbol === "-")) {
      this.index++;
      return { kind: "unary", operator: token.symbol, operand: this.unary(), pos: token.pos };
    }
    return this.postfix(this.primary());
  }

  private postfix(expression: Expression): Expression {
    for (;;) {
      const token = this.peek();
      if (token.newlineBefore) return expression;
      const { pos } = expression;
      if (this.isSymbol(token, ".")) {
        this.index++;
        const name = this.next();
        if (name.kind !== "identifier" || keywords.has(name.name)) throw this.unexpected(name, "a name");
        expression = { kind: "access", value: expression, name: name.name, namePos: name.pos, pos };
      } else if (this.isSymbol(token, "[")) {
        this.index++;
        const index = this.expression();
        this.expect("]", `"]" after the index`);
        expression = { kind: "index", value: expression, index, pos };
      } else if (this.isSymbol(token, "(")) {
        this.index++;
        expression = { kind: "call", callee: expression, args: this.sequence(")", "function argument"), pos };
      } else {
        return expression;
      }
    }
  }

  private primary(): Expression {
    const token = this.next();
    const { pos } = token;
    switch (token.kind) {
      case "string":
        return { kind: "string", value: token.value, pos };
      case "number":
        return { kind: "number", value: token.value, float: token.float, pos };
      case "identifier":
        if (token.name === "true" || token.name === "false") return { kind: "bool", value: token.name === "true", pos };
        if (token.name === "null") return { kind: "null", pos };
        return { kind: "identifier", name: token.name, pos };
      case "punctuation":
        if (token.symbol === "[") return { kind: "list", items: this.sequence("]", "list element"), pos };
        if (token.symbol === "{") return this.object(token);
        if (token.symbol === "(") {
          const inner = this.expression();
          this.expect(")", `")" closing "("`);
          return inner;
        }
        break;
      case "eof":
        break;
    }
    throw this.unexpected(token, "a value");
  }

  /**
   * Comma-separated expressions up to `close`, a trailing comma allowed. As in Alloy (whose scanner
   * ends a line after a value), the last one needs its comma when `close` is on a line of its own.
   */
  private sequence(close: Punctuation, what: string): Expression[] {
    const items: Expression[] = [];
    while (!this.isSymbol(this.peek(), close)) {
      items.push(this.expression());
      if (!this.isSymbol(this.peek(), ",")) break;
      this.index++;
    }
    this.closeAfter(close, what, items.length > 0);
    return items;
  }

  /** Comma-separated fields, a trailing comma allowed; as in a list, the last needs one before a `}` on a line of its own. */
  private object(open: Token): Expression {
    const fields: ObjectField[] = [];
    while (!this.isSymbol(this.peek(), "}")) {
      fields.push(this.field());
      if (!this.isSymbol(this.peek(), ",")) break;
      this.index++;
    }
    this.closeAfter("}", "object field", fields.length > 0);
    return { kind: "object", fields, pos: open.pos };
  }

  private closeAfter(close: Punctuation, what: string, afterItem: boolean): void {
    const token = this.peek();
    const last = this.tokens[this.index - 1]!;
    if (afterItem && !this.isSymbol(last, ",") && token.newlineBefore) {
      // Where Alloy's scanner ends the line: just after the item.
      throw new ConfigError([diagnosticAt(this.file, last.end, `missing "," after this ${what}: Alloy needs one at the end of the line`)]);
    }
    this.expect(close, `"," or "${close}" after ${what}`);
  }

  private field(): ObjectField {
    const key = this.next();
    if (key.kind !== "identifier" && key.kind !== "string") throw this.unexpected(key, "an object key");
    // true, false and null are values to Alloy's scanner, not names.
    if (key.kind === "identifier" && keywords.has(key.name)) throw this.unexpected(key, "an object key");
    this.expect("=", `"=" after object key`);
    // As Alloy: a quoted key is the text between its quotes, escapes as written.
    return { key: key.kind === "string" ? (key.quoted ?? key.value) : key.name, keyPos: key.pos, value: this.expression() };
  }

  private dottedName(): string[] {
    const parts: string[] = [];
    for (;;) {
      const token = this.next();
      if (token.kind !== "identifier" || keywords.has(token.name)) throw this.unexpected(token, "a name");
      parts.push(token.name);
      if (!this.isSymbol(this.peek(), ".")) return parts;
      this.index++;
    }
  }

  private expect(symbol: Punctuation, what: string): void {
    const token = this.next();
    if (!this.isSymbol(token, symbol)) throw this.unexpected(token, what);
  }

  private isSymbol(token: Token, symbol: Punctuation): boolean {
    return token.kind === "punctuation" && token.symbol === symbol;
  }

  private peek(): Token {
    // The lexer always ends the list with an eof token, and the parser never moves past it.
    return this.tokens[Math.min(this.index, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== "eof") this.index++;
    return token;
  }

  private unexpected(token: Token, expected: string): ConfigError {
    return this.error(token, `expected ${expected}, got ${describeToken(token)}`);
  }

  private error(token: Token, message: string): ConfigError {
    return new ConfigError([diagnosticAt(this.file, token.pos, message)]);
  }
}
