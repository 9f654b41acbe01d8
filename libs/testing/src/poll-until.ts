import { setTimeout as sleep } from "node:timers/promises";

/** Options of {@link pollUntil}. */
export interface PollOptions {
  /** How long to keep trying before giving up with a PollTimeoutError; 10 s by default. */
  timeoutMs?: number;
  /** The pause between two probes; 20 ms by default. */
  everyMs?: number;
}

/** A condition a test waited for did not hold within its deadline. */
export class PollTimeoutError extends Error {
  override name = "PollTimeoutError";
}

/** A probe of {@link pollUntil}: `undefined`, `null` (a lookup's miss) or `false` while the condition does not hold yet. */
export type Probe<T> = () => Promise<T | undefined | null | false> | T | undefined | null | false;

/**
 * Probes `check` until it returns something other than `undefined`, `null` or `false`, and resolves
 * with that; rejects with a PollTimeoutError naming `what` once `timeoutMs` passed without it. For a
 * test that waits for something the code under test does in its own time: a generous deadline costs
 * nothing when it holds, and turns a hang into a failure that says what never happened.
 */
export async function pollUntil<T>(what: string, check: Probe<T>, options: PollOptions = {}): Promise<T> {
  const { timeoutMs = 10_000, everyMs = 20 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new PollTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
