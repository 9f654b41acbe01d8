// How the page writes numbers, sizes, ages and times: pure, so that the specs pin them down.

const units = ["B", "KiB", "MiB", "GiB", "TiB"];

/** Binary units as the relay's flags take them (`1GiB`): 3 significant digits. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${Number(value.toFixed(digits))} ${units[unit]}`;
}

/** A duration in its two largest units: `850ms`, `4.2s`, `3m 05s`, `2h 10m`, `3d 4h`. */
export function formatAge(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1_000).toFixed(1))}s`;
  const seconds = Math.floor(ms / 1_000);
  const [minutes, hours, days] = [Math.floor(seconds / 60), Math.floor(seconds / 3_600), Math.floor(seconds / 86_400)];
  const pad = (n: number) => String(n).padStart(2, "0");
  if (hours === 0) return `${minutes}m ${pad(seconds % 60)}s`;
  if (days === 0) return `${hours}h ${pad(minutes % 60)}m`;
  return `${days}d ${hours % 24}h`;
}

/** Events per second: whole numbers from 10 up, one decimal below. */
export function formatRate(perSecond: number): string {
  return `${perSecond >= 10 ? Math.round(perSecond) : Number(perSecond.toFixed(1))}/s`;
}

/** Local time `YYYY-MM-DD HH:MM:SS`; just the time of day for today (relative to `now`). */
export function formatTime(ms: number, now: number): string {
  const at = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
  if (at.toDateString() === new Date(now).toDateString()) return time;
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${time}`;
}

/** `1 batch`, `2 batches`. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}
