import { type Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, codeToString } from "@connectrpc/connect/protocol-connect";

export interface RequestErrorOptions {
  cause?: unknown;
  /** Where Pyroscope answers its plain HTTP routes with another status than Connect's for the code (405, 408, 413, 502). */
  httpStatus?: number;
  /** `Retry-After`; 1 s by default on a 503. */
  retryAfterSeconds?: number;
}

/**
 * The one error type of the relay's HTTP edges, keyed by its Connect code. It is a `ConnectError`,
 * so connect-es answers Push, gRPC and gRPC-Web clients with it as it is (`Retry-After` travels as
 * metadata, a response header); the receivers' plain HTTP routes (`/ingest`, the debuginfo upload)
 * answer with its HTTP status and Pyroscope's JSON body `{"code":"...","message":"..."}`, the admin
 * API with its HTTP status and `{"error":"..."}`.
 */
export class RequestError extends ConnectError {
  // The name stays "ConnectError": connect-es recognizes its errors by name (ConnectError's
  // Symbol.hasInstance), and would otherwise answer with this one as an internal error.
  readonly httpStatus: number;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: Code, message: string, options: RequestErrorOptions = {}) {
    const httpStatus = options.httpStatus ?? codeToHttpStatus(code);
    const retryAfterSeconds = options.retryAfterSeconds ?? (httpStatus === 503 ? 1 : undefined);
    super(message, code, retryAfterSeconds === undefined ? undefined : { "retry-after": String(retryAfterSeconds) }, undefined, options.cause);
    this.httpStatus = httpStatus;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** The prototype chain decides, not ConnectError's name check, which every ConnectError would pass. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(RequestError, value);
  }

  /** The code's name as Connect writes it, e.g. `invalid_argument`: the metrics' rejection reason too. */
  get reason(): string {
    return codeToString(this.code);
  }

  toJSON(): { code: string; message: string } {
    return { code: this.reason, message: this.rawMessage };
  }
}
