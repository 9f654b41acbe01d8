import { describeRequestError } from "@pyroscope-relay/admin";
import { UsageError } from "../usage-error.js";

/** The flag an operator request field comes from: `olderThan` -> `--older-than`. */
export function flagOf(field: string): string {
  return `--${field.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}

/** A whole number from a flag; anything else is passed on for the request schema to name. */
export function integerFlag(text: string | undefined): number | string | undefined {
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : text;
}

/** Validates flags with the admin API's request schema, so that both accept exactly the same. */
export function parseRequestFlags<T>(
  command: string,
  schema: { safeParse(input: unknown): { success: true; data: T } | { success: false; error: Parameters<typeof describeRequestError>[0] } },
  input: Record<string, unknown>,
): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new UsageError(`${command}: ${describeRequestError(parsed.error, flagOf)}`);
  return parsed.data;
}
