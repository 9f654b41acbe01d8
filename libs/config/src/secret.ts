import { inspect } from "node:util";

const hidden = "(secret)";

/**
 * Alloy's `secret`: a string that may go only where Alloy takes a secret (a password, a token, a
 * key), never into a plain string attribute or function, unless `convert.nonsensitive` turns it
 * back into one. The text sits in a private field, so that printing, logging or serializing the
 * value shows `(secret)`, as Alloy shows it.
 */
export class Secret {
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
  }

  /** The text, for the attributes that take a secret and for `convert.nonsensitive`. */
  reveal(): string {
    return this.#text;
  }

  toString(): string {
    return hidden;
  }

  toJSON(): string {
    return hidden;
  }

  [inspect.custom](): string {
    return hidden;
  }
}

/** Alloy's message when a secret meets a plain string attribute or argument. */
export const secretNotString = "secrets may not be converted into strings (convert.nonsensitive(...) turns a value that is no secret into one)";
