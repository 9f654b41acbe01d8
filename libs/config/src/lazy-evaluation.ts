import { ExportError } from "./component-exports.js";

/**
 * How the components the relay evaluates (local.file, remote.kubernetes.*, a custom component's
 * arguments) are evaluated: each when a reference first reads it, once, so that one may read
 * another defined after it, as Alloy orders them by dependency; one read while it is being
 * evaluated depends on itself, a cycle, which Alloy refuses.
 */
export class LazyEvaluation<T> {
  private readonly states = new Map<string, { done: false } | { done: true; value: T }>();
  /** Keys being evaluated, outermost first: the path of a cycle. */
  private readonly evaluating: string[] = [];

  /** `idOf` names a key as references spell it, e.g. `local.file.token`. */
  constructor(private readonly idOf: (key: string) => string) {}

  /**
   * `key`'s value, from `load` at its first read.
   * @throws ExportError naming the cycle when `key` is read while it is being evaluated
   */
  get(key: string, load: () => T): T {
    const known = this.states.get(key);
    if (known?.done) return known.value;
    if (known !== undefined) {
      const cycle = [...this.evaluating.slice(this.evaluating.indexOf(key)), key].map((k) => this.idOf(k));
      throw new ExportError(`${this.idOf(key)} depends on itself: ${cycle.join(" -> ")}`);
    }
    this.states.set(key, { done: false });
    this.evaluating.push(key);
    let value: T;
    try {
      value = load();
    } finally {
      this.evaluating.pop();
    }
    this.states.set(key, { done: true, value });
    return value;
  }

  /** Whether something read `key`. */
  read(key: string): boolean {
    return this.states.has(key);
  }

  /** `key`'s value, if it was evaluated. */
  valueOf(key: string): T | undefined {
    const state = this.states.get(key);
    return state?.done ? state.value : undefined;
  }
}
