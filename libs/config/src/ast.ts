import type { Position } from "./diagnostic.js";

/** The syntax tree of an Alloy-syntax file; every node keeps where it starts. */
export type Expression =
  | { kind: "string"; value: string; pos: Position }
  | { kind: "number"; value: number; pos: Position }
  | { kind: "bool"; value: boolean; pos: Position }
  | { kind: "null"; pos: Position }
  | { kind: "list"; items: Expression[]; pos: Position }
  | { kind: "object"; fields: ObjectField[]; pos: Position }
  /** A dotted name such as `pyroscope.write.staging.receiver`. */
  | { kind: "reference"; path: string[]; pos: Position }
  | { kind: "call"; callee: string[]; args: Expression[]; pos: Position };

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
