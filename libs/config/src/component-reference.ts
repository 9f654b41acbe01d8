/**
 * A dotted name used as a value, such as `pyroscope.write.staging.receiver`. It stays symbolic until
 * every component is known, so that a reference to a missing component can be reported.
 */
export class ComponentReference {
  constructor(readonly path: readonly string[]) {}

  toString(): string {
    return this.path.join(".");
  }
}
