const defaultMs = 5_000;
const minimumMs = 1_000;

/** How often the page polls: `?refresh=SECONDS` in its address, 5 s by default, 1 s at least. */
export function refreshIntervalMs(search: string): number {
  const text = new URLSearchParams(search).get("refresh");
  const seconds = text === null || text.trim() === "" ? NaN : Number(text);
  return Number.isFinite(seconds) ? Math.max(seconds * 1_000, minimumMs) : defaultMs;
}
