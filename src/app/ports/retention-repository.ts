/**
 * Storage port of retention pruning: each method is ONE small batch (select at most `limit` keys,
 * delete by key) that the caller commits before asking for the next, so pruning never holds long
 * locks or builds a large undo log. Every delete re-checks its conditions, so a row that changed
 * between the select and the delete is left alone.
 */

/**
 * One batch of a pruning pass that walks a table in key order and skips rows it must keep.
 * Such a pass is bounded by rows examined, not rows deleted: many kept rows never make a batch slow.
 */
export interface PrunePassBatch<Cursor> {
  /** Rows deleted by this batch. */
  deleted: number;
  /** Where the pass continues (the last row examined); null when the pass reached its end. */
  next: Cursor | null;
}

/** Position in the messages' (created_at_ms, id) order. */
export interface MessageCursor {
  createdAtMs: number;
  id: bigint;
}

export interface RetentionRepository {
  /**
   * Examines up to `limit` queue rows in id order after `afterId` (0n starts a pass) and deletes
   * the `sent` and `dead_lettered` ones completed at or before `cutoffMs`; pending, leased and
   * failed rows are never touched. Ids grow with creation time, so the pass ends at the first row
   * created after `cutoffMs`: nothing beyond it can have completed before the cutoff. A `sent` row of
   * a subscription that retains acked messages is kept while its message is younger than the
   * subscription's message TTL at `nowMs`.
   */
  pruneQueueItems(
    afterId: bigint,
    cutoffMs: number,
    limit: number,
    nowMs: number,
  ): Promise<PrunePassBatch<bigint>>;
  /** Deletes up to `limit` notification-log rows created at or before `cutoffMs`, oldest first; returns how many. */
  pruneNotificationLogs(cutoffMs: number, limit: number): Promise<number>;
  /**
   * Examines up to `limit` messages created at or before `cutoffMs`, in (created_at_ms, id) order
   * after `after` (null starts a pass), and deletes those that no queue row and no dead letter
   * references. Referenced messages are skipped, so a large dead-letter queue never stalls a pass;
   * so are messages still inside their topic's message retention at `nowMs` and messages a
   * snapshot not expired at `nowMs` holds.
   */
  pruneMessages(
    after: MessageCursor | null,
    cutoffMs: number,
    limit: number,
    nowMs: number,
  ): Promise<PrunePassBatch<MessageCursor>>;
  /** Deletes up to `limit` dedup entries expired at `nowMs` (expires_at_ms <= nowMs); returns how many. */
  pruneExpiredDedup(nowMs: number, limit: number): Promise<number>;
}
