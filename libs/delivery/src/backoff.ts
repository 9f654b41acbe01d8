/**
 * How long to wait before retry `retry` (1 for the first retry), as Alloy's `pyroscope.write`:
 * uniform in [min·2^(retry-1), min·2^retry), whole milliseconds, capped at `maxMs`. Huge retry
 * numbers give `maxMs` rather than Infinity or NaN.
 * @throws RangeError when `retry` is not an integer >= 1 or not 0 <= minMs <= maxMs < Infinity
 */
export function backoffDelay(retry: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  if (!Number.isInteger(retry) || retry < 1) throw new RangeError(`retry must be an integer >= 1, got ${retry}`);
  if (!(minMs >= 0 && minMs <= maxMs && Number.isFinite(maxMs))) {
    throw new RangeError(`backoff needs 0 <= min <= max < Infinity, got min ${minMs} and max ${maxMs}`);
  }
  // 2^(retry-1) may be Infinity; spare 0·Infinity, which is NaN.
  const low = minMs === 0 ? 0 : minMs * 2 ** (retry - 1);
  if (low >= maxMs) return maxMs;
  // low < maxMs here, so the span is finite.
  return Math.min(maxMs, low + Math.floor(random() * low));
}
