/**
 * A Durable Object's SQLite binds at most 100 parameters per statement ("too many SQL
 * variables"), so statements over many rows or ids go in chunks that each stay under it.
 */
export const MAX_BOUND_PARAMETERS = 100;

/** `items` in slices of at most `perItem`-parameter items that fit one statement. */
export function* statementChunks<T>(items: readonly T[], perItem = 1): Generator<T[]> {
  const size = Math.max(1, Math.floor((MAX_BOUND_PARAMETERS - 10) / perItem));
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
