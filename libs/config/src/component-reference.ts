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

/**
 * Why a reference cannot stand for a value. Besides its own two components the relay evaluates only
 * local.file and remote.kubernetes.*, so it has no other component's exports; a pyroscope.write
 * receiver means something only in forward_to.
 */
export const whyNotEvaluable =
  "cannot be evaluated: the relay evaluates no other components than local.file, remote.kubernetes.secret and remote.kubernetes.configmap, and refers to pyroscope.write receivers only in forward_to (a value from the environment: sys.env)";

export function cannotEvaluate(reference: ComponentReference): string {
  return `${reference} ${whyNotEvaluable}`;
}
