// Search-as-you-type and sorting for the big lists, kept out of the components so it is tested.

export type SortDir = "asc" | "desc";

export interface Column<T> {
  key: string;
  label: string;
  value: (item: T) => string | number;
}

/** Lowercased search terms; every term must match some field of an item. */
export function terms(query: string): string[] {
  return query.toLowerCase().split(/\s+/).filter((t) => t.length > 0);
}

export function matches(haystack: string[], wanted: string[]): boolean {
  if (wanted.length === 0) return true;
  const fields = haystack.map((f) => f.toLowerCase());
  return wanted.every((t) => fields.some((f) => f.includes(t)));
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

export function compare(a: string | number, b: string | number): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return collator.compare(String(a), String(b));
}

/** Filters `items` by `query` over `fields`, then sorts by `sortBy` (stable). */
export function filterAndSort<T>(
  items: readonly T[],
  query: string,
  fields: (item: T) => string[],
  sortBy: ((item: T) => string | number) | null,
  dir: SortDir = "asc",
): T[] {
  const wanted = terms(query);
  const kept = wanted.length === 0 ? items.slice() : items.filter((item) => matches(fields(item), wanted));
  if (sortBy) {
    const sign = dir === "asc" ? 1 : -1;
    kept.sort((a, b) => sign * compare(sortBy(a), sortBy(b)));
  }
  return kept;
}

/** Clicking a header: a new column sorts ascending, the same column flips. */
export function nextSort(current: { key: string; dir: SortDir }, key: string): { key: string; dir: SortDir } {
  if (current.key !== key) return { key, dir: "asc" };
  return { key, dir: current.dir === "asc" ? "desc" : "asc" };
}

/** "1 service", "12 of 10,000 services". `one` is the singular of the plural `noun`. */
export function countLabel(shown: number, total: number, noun: string, one: string): string {
  const fmt = (n: number) => n.toLocaleString("en-US");
  const word = total === 1 ? one : noun;
  return shown === total ? `${fmt(total)} ${word}` : `${fmt(shown)} of ${fmt(total)} ${word}`;
}
