/**
 * Whole numbers as ranges, e.g. `[0, 1, 2, 3, 5, 7, 8]` as `"0-3,5,7-8"`: how a job's progress
 * lists the profiles it is done with, which a target accepts about in order, so that a save of a
 * batch of hundreds of profiles is a few bytes rather than a few per profile.
 */
export function formatRanges(numbers: Iterable<number>): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let end = i;
    while (end + 1 < sorted.length && sorted[end + 1] === sorted[end]! + 1) end++;
    ranges.push(end === i ? String(sorted[i]) : `${sorted[i]}-${sorted[end]}`);
    i = end + 1;
  }
  return ranges.join(",");
}

/** The ranges of `formatRanges`' text, each as its first and last number; what is not a range (junk, reversed) is skipped. */
export function parseRanges(text: string): [first: number, last: number][] {
  const ranges: [number, number][] = [];
  for (const range of text.split(",")) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(range);
    if (match === null) continue;
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (Number.isSafeInteger(last) && first <= last) ranges.push([first, last]);
  }
  return ranges;
}

/** Whether `n` is in one of `ranges`. */
export function inRanges(ranges: readonly (readonly [number, number])[], n: number): boolean {
  return ranges.some(([first, last]) => first <= n && n <= last);
}
