/** The longest delay Node's timers keep: setTimeout fires a longer one (2^31 ms, about 24.8 days, or more) after 1 ms. */
export const maxTimerDelayMs = 2 ** 31 - 1;

/**
 * A configured duration as a timer's delay. Config takes Go durations up to 2^63 ns, which Go waits
 * out in full; capped here instead of firing at once, since 24.8 days is no limit within a process' life.
 */
export function timerDelay(ms: number): number {
  return Math.min(ms, maxTimerDelayMs);
}
