import { pino } from "pino";
import type { DestinationStream, Logger } from "pino";
import type { PeerCertificate } from "node:tls";

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

const censor = "[REDACTED]";

/**
 * ioredis attaches the failed command to its errors, and a cluster's error holds its last node's
 * (`lastNodeError`), as a cause or an aggregate may: the arguments of an AUTH among them are the
 * credentials, at a depth no fixed path reaches. Every `command.args` goes from the serialized
 * error; the serializer shares plain objects with the caller's error, so what changes is copied.
 * A TLS error's peer certificate (`cert`: its raw bytes, its key, its issuer's, kilobytes) is cut to
 * the names that say which it was.
 */
function withoutCommandArguments(value: unknown, seen: Set<object>): unknown {
  if (typeof value !== "object" || value === null || seen.has(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) {
    const items = value.map((item) => withoutCommandArguments(item, seen));
    return items.some((item, i) => item !== value[i]) ? items : value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [key, nested] of Object.entries(value)) {
    const isCommand = key === "command" && typeof nested === "object" && nested !== null && "args" in nested;
    const isPeerCertificate = key === "cert" && typeof nested === "object" && nested !== null && "raw" in nested;
    const next = isCommand
      ? { ...(nested as object), args: censor }
      : isPeerCertificate
        ? certificateNames(nested as PeerCertificate)
        : withoutCommandArguments(nested, seen);
    if (next === nested) continue;
    copy ??= { ...(value as Record<string, unknown>) };
    copy[key] = next;
  }
  return copy ?? value;
}

function certificateNames({ subject, issuer, subjectaltname, valid_to }: PeerCertificate) {
  return { subject, issuer, subjectaltname, valid_to };
}

function serializeError(error: Error): unknown {
  return withoutCommandArguments(pino.stdSerializers.err(error), new Set());
}

/** JSON-lines logger with secrets redacted wherever they occur at the paths above. */
export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    level: options.level,
    redact: { paths: redactPaths, censor },
    serializers: { err: serializeError },
    ...(options.name === undefined ? {} : { name: options.name }),
  };
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}
