/** Keyset paging: items with id greater than `afterId`, ascending, at most `limit`. */
export interface PageRequest {
  afterId: bigint | null;
  limit: number;
}

/** One page; `lastId` is set when more items may follow. */
export interface Page<T> {
  items: T[];
  lastId: bigint | null;
}
