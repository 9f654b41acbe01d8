/** A counter's value at a time (ms). */
export interface CounterSample {
  time: number;
  value: number;
}

/**
 * Per second between two samples of one counter. None without an earlier sample, or when the counter
 * went down (the process restarted) or the clock did not move.
 */
export function perSecond(before: CounterSample | undefined, after: CounterSample): number | undefined {
  if (before === undefined || after.value < before.value || after.time <= before.time) return undefined;
  return ((after.value - before.value) * 1_000) / (after.time - before.time);
}
