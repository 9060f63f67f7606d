/** Storage port of snapshots: the snapshot rows, their held messages, and the snapshot side of Seek. */
import type { QueueStatus } from "../../domain/queue-item.js";
import type { Snapshot } from "../../domain/snapshot.js";
import type { Page, PageRequest } from "./paging.js";
import type { ReplayCandidate } from "./replay-repository.js";

export interface NewSnapshot {
  name: string;
  topicId: bigint;
  sourceSubscription: string;
  afterMessageId: bigint;
  labels: Readonly<Record<string, string>>;
  pubsubProject: string;
  /** Provisional: set again by `markReady` once the held messages are known. */
  expireAtMs: number;
  nowMs: number;
}

/** A queue row as Seek to a snapshot sees it. */
export interface SnapshotSeekRow {
  id: bigint;
  status: QueueStatus;
  isHeldBySnapshot: boolean;
}

export interface SnapshotRepository {
  /** A hidden (not ready) snapshot row; ALREADY_EXISTS when the name is taken, even by an expired one. */
  insert(snapshot: NewSnapshot): Promise<bigint>;
  /** The largest message id of the topic so far (0 when none). */
  topicHighWaterMessageId(topicId: bigint): Promise<bigint>;
  /**
   * The id of the subscription's queue row `limit` rows after `afterQueueId` (or its last one),
   * null when no row follows: the upper bound of the next capture batch.
   */
  nextCaptureBound(subscriptionId: bigint, afterQueueId: bigint, limit: number): Promise<bigint | null>;
  /**
   * Records as held, by INSERT … SELECT, the messages of the subscription's unfinished queue rows
   * with ids in (afterQueueId, upToQueueId] and message ids at most `maxMessageId`. Returns the
   * oldest such message's publish time, if any.
   */
  captureUnacked(
    snapshotId: bigint,
    subscriptionId: bigint,
    afterQueueId: bigint,
    upToQueueId: bigint,
    maxMessageId: bigint,
  ): Promise<number | undefined>;
  /** Makes the snapshot visible with its final expire time. */
  markReady(snapshotId: bigint, expireAtMs: number, nowMs: number): Promise<void>;
  /** The ready snapshot, expired or not; undefined when there is none. */
  findByName(name: string): Promise<Snapshot | undefined>;
  /** Ready snapshots not expired at `nowMs`, optionally of one topic, by id. */
  list(page: PageRequest, filter: { topicId?: bigint; nowMs: number }): Promise<Page<Snapshot>>;
  update(
    id: bigint,
    change: { labels?: Readonly<Record<string, string>>; expireAtMs?: number },
    nowMs: number,
  ): Promise<void>;
  /** Deletes up to `limit` held-message rows of the snapshot; returns how many. */
  deleteItems(snapshotId: bigint, limit: number): Promise<number>;
  /** Deletes the snapshot row (its items must be gone). */
  deleteRow(snapshotId: bigint): Promise<void>;
  /** Up to `limit` ids of snapshots (ready or not) that expired at or before `nowMs`. */
  listExpiredIds(nowMs: number, limit: number): Promise<bigint[]>;
  /**
   * Locks (until commit) the subscription's queue rows after `afterId`, in id order, at most
   * `limit`, each with whether the snapshot holds its message.
   */
  lockSeekPage(
    subscriptionId: bigint,
    snapshot: Pick<Snapshot, "id" | "afterMessageId">,
    afterId: bigint,
    limit: number,
  ): Promise<SnapshotSeekRow[]>;
  /**
   * Messages the snapshot holds by row (message id order after `afterMessageId`, at most `limit`)
   * that the subscription has no queue row for. `next` is the following page's cursor, null at the end.
   */
  listHeldMessagesMissing(
    snapshotId: bigint,
    subscriptionId: bigint,
    afterMessageId: bigint,
    limit: number,
  ): Promise<{ candidates: ReplayCandidate[]; next: bigint | null }>;
}
