/**
 * Why a reload did not take, as `POST /-/reload` answers it:
 * - `refused` (400): the new configuration cannot be used (it does not load, or a receiver cannot
 *   listen where it says); the running configuration stays, as it was;
 * - `unavailable` (503): the relay cannot reload now (it is starting or stopping, Redis cannot be
 *   reached); nothing changed, the same file may be reloaded later;
 * - `partial` (500): the reload failed after it had changed part of what runs; the log says what.
 * Any other error a reload throws is answered as `partial`.
 */
export class ReloadError extends Error {
  override readonly name = "ReloadError";

  constructor(
    message: string,
    readonly outcome: "refused" | "unavailable" | "partial",
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The status `POST /-/reload` answers for a reload that failed with `error`. */
export function reloadFailureStatus(error: unknown): 400 | 500 | 503 {
  if (!(error instanceof ReloadError)) return 500;
  const statuses = { refused: 400, unavailable: 503, partial: 500 } as const;
  return statuses[error.outcome];
}
