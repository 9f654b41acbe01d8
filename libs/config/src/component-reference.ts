/**
 * A dotted name used as a value, such as `pyroscope.write.staging.receiver`. It stays symbolic until
 * every component is known, so that a reference to a missing component can be reported.
 */
export class ComponentReference {
  /**
   * @param module Alloy's ID of the custom component instance whose body the reference is written
   *   in (its components are what the name means there); absent at the top level.
   */
  constructor(
    readonly path: readonly string[],
    readonly module?: string,
  ) {}

  toString(): string {
    return this.path.join(".");
  }
}

/**
 * Why a reference cannot stand for a value. Besides its own two components the relay evaluates only
 * local.file and remote.kubernetes.*, so it has no other component's exports; a pyroscope.write
 * receiver means something only in forward_to.
 */
export const whyNotEvaluable =
  "cannot be evaluated: the relay evaluates no other components than local.file, remote.kubernetes.secret and remote.kubernetes.configmap, and refers to pyroscope.write and pyroscope.relabel receivers only in forward_to (a value from the environment: sys.env)";

export function cannotEvaluate(reference: ComponentReference): string {
  return `${reference} ${whyNotEvaluable}`;
}
