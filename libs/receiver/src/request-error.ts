/** HTTP statuses the receiver answers with, keyed by the Connect code it reports in the body. */
const statusByCode = {
  invalid_argument: 400,
  not_found: 404,
  unimplemented: 405,
  deadline_exceeded: 408,
  payload_too_large: 413,
  resource_exhausted: 429,
  unavailable: 503,
  internal: 500,
} as const;

export type RequestErrorCode = keyof typeof statusByCode;

/**
 * The one error type of the `/ingest` edge: it knows its HTTP status and renders as Pyroscope's
 * JSON error body `{"code":"...","message":"..."}`. `retryAfterSeconds` becomes `Retry-After`
 * (1 s by default on a 503).
 */
export class RequestError extends Error {
  override readonly name = "RequestError";
  readonly status: number;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: RequestErrorCode,
    message: string,
    options?: { cause?: unknown; status?: number; retryAfterSeconds?: number },
  ) {
    super(message, options);
    this.status = options?.status ?? statusByCode[code];
    this.retryAfterSeconds = options?.retryAfterSeconds ?? (this.status === 503 ? 1 : undefined);
  }

  toJSON(): { code: string; message: string } {
    return { code: this.code === "payload_too_large" ? "resource_exhausted" : this.code, message: this.message };
  }
}
