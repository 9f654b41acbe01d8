const defaultMs = 5_000;
const minimumMs = 1_000;
// Browsers keep a timer's delay in 32 bits: a longer one fires at once, and the page would poll
// without pause.
const maximumMs = 3_600_000;

/** How often the page polls: `?refresh=SECONDS` in its address, 5 s by default, from 1 s to an hour. */
export function refreshIntervalMs(search: string): number {
  const text = new URLSearchParams(search).get("refresh");
  const seconds = text === null || text.trim() === "" ? NaN : Number(text);
  return Number.isFinite(seconds) ? Math.min(Math.max(seconds * 1_000, minimumMs), maximumMs) : defaultMs;
}
