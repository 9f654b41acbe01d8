/**
 * The `name` parameter of an /ingest request does not follow Pyroscope's labelset grammar.
 * The message starts with `name: `, as Pyroscope's own 400 answer does, so a receiver can
 * pass it to the client unchanged.
 */
export class InvalidNameError extends Error {
  override readonly name = "InvalidNameError";

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** A label set that Alloy (and Pyroscope) would refuse: a bad or empty label name, no labels. */
export class InvalidLabelError extends Error {
  override readonly name = "InvalidLabelError";

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
