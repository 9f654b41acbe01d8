// `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Dates come in three forms:
// IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT` and
// asctime `Sun Nov  6 08:49:37 1994`. Date.parse is not used: it accepts almost anything.

const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const month = `(?<month>${months.join("|")})`;
const weekday = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const longWeekday = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const time = "(?<hours>\\d{2}):(?<minutes>\\d{2}):(?<seconds>\\d{2})";
const httpDates = [
  new RegExp(`^${weekday}, (?<day>\\d{2}) ${month} (?<year>\\d{4}) ${time} GMT$`),
  new RegExp(`^${longWeekday}, (?<day>\\d{2})-${month}-(?<year>\\d{2}) ${time} GMT$`),
  new RegExp(`^${weekday} ${month} (?<day>[ \\d]\\d) ${time} (?<year>\\d{4})$`),
];

/**
 * Milliseconds to wait from `nowMs` as a `Retry-After` value asks, never negative (a date in the
 * past means now); undefined when absent or malformed.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  const text = value?.trim() ?? "";
  if (/^\d+$/.test(text)) {
    const ms = Number(text) * 1000;
    return Number.isFinite(ms) ? ms : undefined;
  }
  const date = parseHttpDate(text, nowMs);
  return date === undefined ? undefined : Math.max(0, date - nowMs);
}

function parseHttpDate(text: string, nowMs: number): number | undefined {
  for (const form of httpDates) {
    const parts = form.exec(text)?.groups;
    if (parts === undefined) continue;
    const field = (name: string) => Number(parts[name]);
    const monthIndex = months.indexOf(parts["month"] ?? "");
    const day = field("day");
    const year = parts["year"]?.length === 2 ? fullYear(field("year"), nowMs) : field("year");
    const [hours, minutes, seconds] = [field("hours"), field("minutes"), field("seconds")];
    // 60 seconds is a leap second, which Date folds into the next minute.
    if (hours > 23 || minutes > 59 || seconds > 60) return undefined;
    const date = new Date(Date.UTC(year, monthIndex, day, hours, minutes, seconds));
    // Date.UTC rolls Feb 30 over into March; a real date survives the round trip.
    return date.getUTCMonth() === monthIndex && date.getUTCDate() === day ? date.getTime() : undefined;
  }
  return undefined;
}

// RFC 9110: a two-digit year more than 50 years in the future is in the past century.
function fullYear(twoDigits: number, nowMs: number): number {
  const thisYear = new Date(nowMs).getUTCFullYear();
  const year = Math.floor(thisYear / 100) * 100 + twoDigits;
  return year > thisYear + 50 ? year - 100 : year;
}
