/** A Redis URL the relay cannot use; the message shows the URL with its password redacted. */
export class InvalidRedisUrlError extends Error {
  override name = "InvalidRedisUrlError";
}

/**
 * A profile could not be queued because Redis refused or did not answer in time. Nothing the client
 * sent is lost by answering 503: it retries, and whatever was stored for this attempt is released.
 */
export class QueueUnavailableError extends Error {
  override name = "QueueUnavailableError";
}

/** `enqueue` was asked for no target, a repeated one, or one this process has no queue for. */
export class InvalidTargetsError extends Error {
  override name = "InvalidTargetsError";
  constructor(
    message: string,
    readonly targets: readonly string[],
  ) {
    super(message);
  }
}
