/**
 * How long to wait before retry `retry` (1 for the first retry), as Alloy's `pyroscope.write` (dskit's
 * backoff): uniform in [low, high), whole milliseconds, where the range starts at [min, 2·min) and
 * doubles until `high` reaches `maxMs`; from then on it stays [low, maxMs), so that retries at the
 * cap keep their jitter and many deliveries that failed together do not come back in step. Huge
 * retry numbers stay finite. `minMs` at or over `maxMs` waits exactly `minMs`, as dskit does.
 * @throws RangeError when `retry` is not an integer >= 1, or not 0 <= minMs and 0 <= maxMs < Infinity
 */
export function backoffDelay(retry: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  if (!Number.isInteger(retry) || retry < 1) throw new RangeError(`retry must be an integer >= 1, got ${retry}`);
  if (!(minMs >= 0 && maxMs >= 0 && Number.isFinite(minMs) && Number.isFinite(maxMs))) {
    throw new RangeError(`backoff needs finite min and max >= 0, got min ${minMs} and max ${maxMs}`);
  }
  let low = minMs;
  let high = Math.min(2 * minMs, maxMs);
  // A minimum of 0 never doubles, nor one at or over the maximum; otherwise at most log2(max/min)
  // doublings before `high` is capped, whatever `retry` is.
  if (high <= low) return low;
  for (let doubled = 1; doubled < retry && high < maxMs; doubled++) {
    low *= 2;
    high = Math.min(2 * high, maxMs);
  }
  return low + Math.floor(random() * (high - low));
}
