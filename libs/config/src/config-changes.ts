import { isDeepStrictEqual } from "node:util";

/** How a list of components (receivers, targets) differs between two configurations, by name. */
export interface Changes<T> {
  /** In the new configuration only. */
  added: T[];
  /** In the old configuration only (their old version). */
  removed: T[];
  /** In both, with a different configuration (their new version). */
  changed: T[];
  /** In both, the same. */
  kept: T[];
}

/** What a reload changes: components are the same when every setting is equal. Pure. */
export function changesBetween<T>(before: readonly T[], after: readonly T[], nameOf: (item: T) => string): Changes<T> {
  const old = new Map(before.map((item) => [nameOf(item), item]));
  const names = new Set(after.map(nameOf));
  const changes: Changes<T> = { added: [], removed: before.filter((item) => !names.has(nameOf(item))), changed: [], kept: [] };
  for (const item of after) {
    const previous = old.get(nameOf(item));
    if (previous === undefined) changes.added.push(item);
    else if (isDeepStrictEqual(previous, item)) changes.kept.push(item);
    else changes.changed.push(item);
  }
  return changes;
}
