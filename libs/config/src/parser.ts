import type { AlloyFile, Expression, ObjectField, Statement } from "./ast.js";
import { ConfigError } from "./config-error.js";
import { diagnosticAt } from "./diagnostic.js";
import { tokenize } from "./lexer.js";
import { describeToken, type Punctuation, type Token } from "./token.js";

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
      label = next.value;
      this.index++;
    }
    this.expect("{", label === undefined ? `"=" or "{" after ${name.join(".")}` : `"{" after the block label`);
    const body = this.body();
    this.expect("}", `"}" closing block ${name.join(".")}`);
    return { kind: "block", name: name.join("."), pos: first.pos, body, ...(label === undefined ? {} : { label }) };
  }

  private expression(): Expression {
    const token = this.next();
    switch (token.kind) {
      case "string":
        return { kind: "string", value: token.value, pos: token.pos };
      case "number":
        return { kind: "number", value: token.value, pos: token.pos };
      case "identifier":
        return this.identifierExpression(token);
      case "punctuation":
        if (token.symbol === "[") return this.list(token);
        if (token.symbol === "{") return this.object(token);
        break;
      case "eof":
        break;
    }
    throw this.unexpected(token, "a value");
  }

  private identifierExpression(token: Token & { kind: "identifier" }): Expression {
    const { pos } = token;
    if (token.name === "true" || token.name === "false") return { kind: "bool", value: token.name === "true", pos };
    if (token.name === "null") return { kind: "null", pos };
    this.index--;
    const path = this.dottedName();
    if (!this.isSymbol(this.peek(), "(")) return { kind: "reference", path, pos };
    this.index++;
    const args = this.sequence(")", "function argument");
    return { kind: "call", callee: path, args, pos };
  }

  private list(open: Token): Expression {
    return { kind: "list", items: this.sequence("]", "list element"), pos: open.pos };
  }

  /** Comma-separated expressions up to `close`; line breaks are free and a trailing comma is allowed. */
  private sequence(close: Punctuation, what: string): Expression[] {
    const items: Expression[] = [];
    while (!this.isSymbol(this.peek(), close)) {
      items.push(this.expression());
      if (!this.isSymbol(this.peek(), ",")) break;
      this.index++;
    }
    this.expect(close, `"," or "${close}" after ${what}`);
    return items;
  }

  /** Fields are separated by commas or line breaks. */
  private object(open: Token): Expression {
    const fields: ObjectField[] = [];
    let separated = true;
    for (;;) {
      const token = this.peek();
      if (this.isSymbol(token, "}")) break;
      if (!separated && !token.newlineBefore) throw this.unexpected(token, `"," or "}" after object field`);
      fields.push(this.field());
      separated = this.isSymbol(this.peek(), ",");
      if (separated) this.index++;
    }
    this.index++;
    return { kind: "object", fields, pos: open.pos };
  }

  private field(): ObjectField {
    const key = this.next();
    if (key.kind !== "identifier" && key.kind !== "string") throw this.unexpected(key, "an object key");
    this.expect("=", `"=" after object key`);
    return { key: key.kind === "string" ? key.value : key.name, keyPos: key.pos, value: this.expression() };
  }

  private dottedName(): string[] {
    const parts: string[] = [];
    for (;;) {
      const token = this.next();
      if (token.kind !== "identifier") throw this.unexpected(token, "a name");
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
