import type { Position } from "./diagnostic.js";

export type UnaryOperator = "!" | "-";
export type BinaryOperator = "||" | "&&" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "+" | "-" | "*" | "/" | "%" | "^";

/**
 * The syntax tree of an Alloy-syntax file; every node keeps where it starts (for an operation, where
 * its first operand starts).
 */
export type Expression =
  | { kind: "string"; value: string; pos: Position }
  | { kind: "number"; value: number; float: boolean; pos: Position }
  | { kind: "bool"; value: boolean; pos: Position }
  | { kind: "null"; pos: Position }
  | { kind: "list"; items: Expression[]; pos: Position }
  | { kind: "object"; fields: ObjectField[]; pos: Position }
  | { kind: "identifier"; name: string; pos: Position }
  /** `value.name`: a field, or one more part of a dotted name such as `pyroscope.write.staging.receiver`. */
  | { kind: "access"; value: Expression; name: string; namePos: Position; pos: Position }
  | { kind: "index"; value: Expression; index: Expression; pos: Position }
  | { kind: "call"; callee: Expression; args: Expression[]; pos: Position }
  | { kind: "unary"; operator: UnaryOperator; operand: Expression; pos: Position }
  | { kind: "binary"; operator: BinaryOperator; left: Expression; right: Expression; pos: Position };

export interface ObjectField {
  key: string;
  keyPos: Position;
  value: Expression;
}

export interface Attribute {
  kind: "attribute";
  name: string;
  pos: Position;
  value: Expression;
}

export interface Block {
  kind: "block";
  /** Dotted parts joined, e.g. `pyroscope.write`. */
  name: string;
  pos: Position;
  label?: string;
  body: Statement[];
}

export type Statement = Attribute | Block;

export interface AlloyFile {
  body: Statement[];
}
