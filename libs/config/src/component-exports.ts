/**
 * The exports of the components the relay evaluates (`local.file`), as references read them.
 * `read` answers undefined for a name it does not own: the reference stays symbolic.
 * @throws ExportError when the name is its own but reads nothing (an undefined component, an export it does not have)
 */
export interface ComponentExports {
  read(path: readonly string[]): { value: unknown } | undefined;
}

/** A reference to an evaluated component's export that reads nothing; evaluate reports it at the reference. */
export class ExportError extends Error {
  override readonly name = "ExportError";
}
