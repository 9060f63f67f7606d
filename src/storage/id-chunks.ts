/**
 * Most ids bound in one IN (…) list. SQLite refuses statements with more than 32,766 bound
 * variables, and an acknowledgement batch (coalesced across calls) or a stream's lease check can
 * name more rows than that; MySQL is happy either way, and lists of a few thousand keep each
 * statement short.
 */
export const MAX_IDS_PER_STATEMENT = 5_000;

/** `items` in consecutive slices of at most `size`. */
export function* idChunks<T>(items: readonly T[], size = MAX_IDS_PER_STATEMENT): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
