/** Value parsers of the flag table; each throws an Error whose message says what is wrong. */

import type { WriterPriority } from "./relay-settings.js";

export function positiveInteger(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw new Error(`expected a whole number of at least 1, got ${JSON.stringify(text)}`);
  }
  return value;
}

export function nonNegativeInteger(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new Error(`expected a whole number (0 for no bound), got ${JSON.stringify(text)}`);
  }
  return value;
}

/** `idle` (SCHED_IDLE), or a nice value a process may lower itself to: 0 (as started) to 19 (the lowest). */
export function writerPriority(text: string): WriterPriority {
  if (text === "idle") return text;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > 19) throw new Error(`expected idle or a nice value from 0 to 19, got ${JSON.stringify(text)}`);
  return value;
}

export function positive(value: number, what: string): number {
  if (value <= 0) throw new Error(`${what} must be greater than 0`);
  return value;
}

/** `HOST:PORT`, `[IPv6]:PORT`, or a redis:// or rediss:// URL with a host and port. */
export function isClusterNode(entry: string): boolean {
  if (entry.includes("://")) {
    if (!URL.canParse(entry)) return false;
    const url = new URL(entry);
    return (url.protocol === "redis:" || url.protocol === "rediss:") && url.hostname !== "" && url.port !== "";
  }
  const port = /^(?:\[[^\]]+\]|[^:[\]/]+):(\d{1,5})$/.exec(entry)?.[1];
  return port !== undefined && Number(port) > 0 && Number(port) <= 65535;
}
