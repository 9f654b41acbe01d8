/**
 * A standard library function refused its arguments. `argument` is the index of the argument at
 * fault, so that the error can point at it; none means the call as a whole.
 */
export class FunctionError extends Error {
  override readonly name = "FunctionError";

  constructor(
    message: string,
    readonly argument?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
