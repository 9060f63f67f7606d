/**
 * Statements with a list of bound values (multi-row VALUES, `IN (…)`) must stay under the
 * database's limit on bound parameters: SQLite refuses more than 32,766 ("too many SQL
 * variables"; 999 in builds older than 3.32), MySQL's prepared statements more than 65,535. A
 * group commit of 5,000 messages × 8 columns would pass SQLite's; these split such lists.
 */

/**
 * Most ids bound in one IN (…) list of the delivery paths: an acknowledgement batch (coalesced
 * across calls) or a stream's lease check can name more rows than SQLite allows, and lists of a
 * few thousand keep each statement short on MySQL too.
 */
export const MAX_IDS_PER_STATEMENT = 5_000;

/** Consecutive slices of `items` of at most `size` each, in order; none when `items` is empty. */
export function* chunked<T>(items: readonly T[], size: number): Generator<T[]> {
  const step = Math.max(1, Math.floor(size));
  for (let at = 0; at < items.length; at += step) yield items.slice(at, at + step);
}

/** Most rows of `columnCount` values one statement may bind, leaving `reserved` for other values. */
export function rowsPerStatement(maxBoundParameters: number, columnCount: number, reserved = 0): number {
  return Math.max(1, Math.floor((maxBoundParameters - reserved) / columnCount));
}
