/** Storage port of publish deduplication (dedup ids within a window). */
export interface DedupRepository {
  /** Live (unexpired at `nowMs`) dedup entries of the publisher among `dedupIds`: dedupId → messageId. */
  findLive(publisherId: bigint, dedupIds: readonly string[], nowMs: number): Promise<Map<string, bigint>>;
  /**
   * Records dedup ids, replacing expired entries. Throws a DomainError with reason
   * DEDUP_RACE when another transaction recorded the same id first (the caller retries).
   */
  record(
    publisherId: bigint,
    entries: readonly { dedupId: string; messageId: bigint }[],
    nowMs: number,
    windowMs: number,
  ): Promise<void>;
}
