/**
 * Statements with a list of bound values (multi-row VALUES, `IN (…)`) must stay under the
 * database's limit on bound parameters: SQLite refuses more than 32,766 ("too many SQL
 * variables"; 999 in builds older than 3.32), MySQL's prepared statements more than 65,535. A
 * group commit of 5,000 messages × 8 columns would pass SQLite's; these split such lists.
 */

/** Consecutive slices of `items` of at most `size` each, in order; none when `items` is empty. */
export function* chunked<T>(items: readonly T[], size: number): Generator<T[]> {
  const step = Math.max(1, Math.floor(size));
  for (let at = 0; at < items.length; at += step) yield items.slice(at, at + step);
}

/** Most rows of `columnCount` values one statement may bind, leaving `reserved` for other values. */
export function rowsPerStatement(maxBoundParameters: number, columnCount: number, reserved = 0): number {
  return Math.max(1, Math.floor((maxBoundParameters - reserved) / columnCount));
}
