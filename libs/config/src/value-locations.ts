import type { Position } from "./diagnostic.js";

/** Where a value sits inside a component: attribute names, list indexes and object keys, in order. */
export type ValuePath = readonly (string | number)[];

export interface ValueLocation {
  kind: "block" | "attribute" | "value";
  /** Start of the value, or of the block's name. */
  pos: Position;
  /** Start of the attribute name or object key; the same as `pos` for blocks and list items. */
  namePos: Position;
}

const identifier = /^[\p{L}_][\p{L}\p{N}_]*$/u;

/** Source positions of a decoded component, so that schema issues can be reported at the right place. */
export class ValueLocations {
  private readonly byPath = new Map<string, ValueLocation>();

  /** `component` is where the component block starts: the place for anything missing from it. */
  constructor(component: Position) {
    this.set([], { kind: "block", pos: component, namePos: component });
  }

  set(path: ValuePath, location: ValueLocation): void {
    this.byPath.set(JSON.stringify(path), location);
  }

  get(path: ValuePath): ValueLocation | undefined {
    return this.byPath.get(JSON.stringify(path));
  }

  /** The location of `path` or, for something missing, of the closest enclosing value or block. */
  nearest(path: ValuePath): ValueLocation {
    for (let depth = path.length; depth > 0; depth--) {
      const location = this.get(path.slice(0, depth));
      if (location) return location;
    }
    return this.get([])!;
  }

  /**
   * How a user names `path` inside its block, e.g. `listen_port`, `forward_to[1]` or
   * `headers["X-Scope-OrgID"]`; "" when `path` is a block or something missing from one.
   */
  label(path: ValuePath): string {
    if (this.nearest(path).kind === "block") return "";
    let blockDepth = 0;
    for (let depth = path.length; depth > 0; depth--) {
      if (this.get(path.slice(0, depth))?.kind === "block") {
        blockDepth = depth;
        break;
      }
    }
    return path.slice(blockDepth).reduce<string>((label, part, index) => {
      if (typeof part === "number") return `${label}[${part}]`;
      if (index === 0) return part;
      return identifier.test(part) ? `${label}.${part}` : `${label}[${JSON.stringify(part)}]`;
    }, "");
  }
}
