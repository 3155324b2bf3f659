// Column names of a CSV file: the header's (or csv.column_names, or column_1, column_2, ...), every one
// non-empty and unique, decided the same way for every file so files of one table name alike.
import { FormatError } from '../../errors.js';

/**
 * The columns of a file whose first record is `first`: with a header it is the names (overridden by
 * `columnNames` when given, which must then count as many); without, `columnNames` or column_1 ....
 */
export function columnNames(first: readonly string[], header: boolean, override: readonly string[]): string[] {
  if (override.length > 0) {
    if (header && first.length !== override.length) {
      throw new FormatError(`csv.column_names has ${override.length} names but the header has ${first.length} columns`);
    }
    return uniqueNames(override);
  }
  return uniqueNames(header ? first : first.map(() => ''));
}

/** Empty names become column_<position>; a repeated name gets _2, _3, ... (skipping names already taken). */
export function uniqueNames(names: readonly string[]): string[] {
  const filled = names.map((name, i) => (name === '' ? `column_${i + 1}` : name));
  const taken = new Set<string>();
  const counts = new Map<string, number>();
  // Names as written keep priority: "a,a,a_2" gives a, a_3, a_2 rather than renaming the written a_2.
  const written = new Set(filled);
  return filled.map((name) => {
    if (!taken.has(name)) {
      taken.add(name);
      return name;
    }
    let n = counts.get(name) ?? 1;
    let candidate: string;
    do candidate = `${name}_${++n}`;
    while (taken.has(candidate) || written.has(candidate));
    counts.set(name, n);
    taken.add(candidate);
    return candidate;
  });
}
