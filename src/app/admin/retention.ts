import type { MessageCursor, RetentionRepository } from "../ports/retention-repository.js";
import type { Store } from "../ports/store.js";
import { purgeSnapshot } from "../replay/snapshot-purge.js";

/** Rows deleted by one retention run, per kind. */
export interface RetentionResult {
  /** Queue rows in state sent or dead_lettered, completed before the cutoff. */
  queueItems: number;
  /** Notification-log rows created before the cutoff. */
  notificationLogs: number;
  /** Messages created before the cutoff that no queue row and no dead letter references. */
  messages: number;
  /** Dedup entries past their expiry (independent of the retention). */
  dedupEntries: number;
  /** Snapshots past their expire time, deleted with their held-message rows. */
  snapshots: number;
}

export interface RetentionOptions {
  /** How long delivered queue rows, log rows and unreferenced messages are kept, ms. */
  retentionMs: number;
  /** Most rows selected (and deleted) by one committed batch. Default 1000. */
  batchSize?: number;
  /** Most batches per kind in one run, so one run stays short. Default 20. */
  maxBatchesPerRun?: number;
}

/**
 * Retention pruning (safe on every instance at once): deletes what has outlived the retention in
 * small committed batches, never one long transaction. Dead letters are never touched (they stay
 * until purged), and neither are pending, leased or failed queue rows or the messages they, or a
 * dead letter, or a live snapshot, reference. Passes over queue rows and messages that run out of batches resume where
 * they stopped on the next run, so rows that must be kept cannot starve the ones behind them.
 */
export class Retention {
  private readonly retentionMs: number;
  private readonly batchSize: number;
  private readonly maxBatchesPerRun: number;
  private queueCursor = 0n;
  private messageCursor: MessageCursor | null = null;

  constructor(
    private readonly store: Store,
    options: RetentionOptions,
  ) {
    this.retentionMs = options.retentionMs;
    this.batchSize = options.batchSize ?? 1000;
    this.maxBatchesPerRun = options.maxBatchesPerRun ?? 20;
    if (!(this.retentionMs >= 0)) throw new RangeError("retentionMs must not be negative");
    if (!(this.batchSize >= 1 && this.maxBatchesPerRun >= 1)) {
      throw new RangeError("batchSize and maxBatchesPerRun must be at least 1");
    }
  }

  /** One run at `nowMs`: queue rows first, so messages they free are pruned in the same run. */
  async run(nowMs: number): Promise<RetentionResult> {
    const cutoffMs = nowMs - this.retentionMs;
    const result: RetentionResult = {
      queueItems: 0,
      notificationLogs: 0,
      messages: 0,
      dedupEntries: 0,
      snapshots: 0,
    };
    // Expired snapshots first: the messages only they held are then pruned in this same run.
    result.snapshots = await this.pruneExpiredSnapshots(nowMs);

    for (let i = 0; i < this.maxBatchesPerRun; i++) {
      const batch = await this.batch((r) =>
        r.pruneQueueItems(this.queueCursor, cutoffMs, this.batchSize, nowMs),
      );
      result.queueItems += batch.deleted;
      this.queueCursor = batch.next ?? 0n;
      if (batch.next === null) break;
    }
    result.notificationLogs = await this.untilShort((r) => r.pruneNotificationLogs(cutoffMs, this.batchSize));
    for (let i = 0; i < this.maxBatchesPerRun; i++) {
      const batch = await this.batch((r) =>
        r.pruneMessages(this.messageCursor, cutoffMs, this.batchSize, nowMs),
      );
      result.messages += batch.deleted;
      this.messageCursor = batch.next;
      if (batch.next === null) break;
    }
    result.dedupEntries = await this.untilShort((r) => r.pruneExpiredDedup(nowMs, this.batchSize));
    return result;
  }

  /** Deletes expired snapshots, spending at most maxBatchesPerRun item batches in all. */
  private async pruneExpiredSnapshots(nowMs: number): Promise<number> {
    const expired = await this.store.repos.snapshots.listExpiredIds(nowMs, this.maxBatchesPerRun);
    let pruned = 0;
    for (const id of expired) {
      if (!(await purgeSnapshot(this.store, id, this.batchSize, this.maxBatchesPerRun))) break;
      pruned++;
    }
    return pruned;
  }

  /** Repeats a delete-up-to-batchSize step until it deletes fewer, at most maxBatchesPerRun times. */
  private async untilShort(step: (r: RetentionRepository) => Promise<number>): Promise<number> {
    let total = 0;
    for (let i = 0; i < this.maxBatchesPerRun; i++) {
      const deleted = await this.batch(step);
      total += deleted;
      if (deleted < this.batchSize) break;
    }
    return total;
  }

  /** Each batch is its own short transaction (retried on deadlocks), committed before the next. */
  private batch<T>(step: (r: RetentionRepository) => Promise<T>): Promise<T> {
    return this.store.transaction((repos) => step(repos.retention));
  }
}
