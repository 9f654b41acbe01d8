import { pino } from "pino";
import type { DestinationStream, Logger } from "pino";

export type { Logger } from "pino";

export interface LoggerOptions {
  /** A pino level: fatal, error, warn, info, debug, trace or silent. */
  level: string;
  name?: string;
  /** Where JSON lines go; stdout when absent. */
  destination?: DestinationStream;
}

/**
 * Secrets that configuration objects, requests and endpoint settings may carry. Both header spellings
 * appear: Node lowercases incoming headers, configured outgoing headers keep the user's case.
 */
const redactPaths = [
  "authorization",
  "password",
  "bearer_token",
  "token",
  "credentials",
  "headers.authorization",
  "headers.Authorization",
  "*.authorization",
  "*.password",
  "*.bearer_token",
  "*.token",
  "*.credentials",
  "*.headers.authorization",
  "*.headers.Authorization",
  "req.headers.authorization",
  // Target configuration fields that hold secrets (see TargetConfig), should a target ever be logged.
  "clientSecret",
  "*.clientSecret",
  "*.*.clientSecret",
  "*.*.password",
  "*.*.token",
  "*.*.credentials",
  "tls.key",
  "*.tls.key",
  "httpHeaders",
  "*.httpHeaders",
  "proxy.url",
  "*.proxy.url",
  "proxy.connectHeaders",
  "*.proxy.connectHeaders",
  // ioredis attaches the failed command to its errors; for AUTH its arguments are the credentials.
  "err.command.args",
  "*.err.command.args",
  "command.args",
];

/** JSON-lines logger with secrets redacted wherever they occur at the paths above. */
export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    level: options.level,
    redact: { paths: redactPaths, censor: "[REDACTED]" },
    ...(options.name === undefined ? {} : { name: options.name }),
  };
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}
