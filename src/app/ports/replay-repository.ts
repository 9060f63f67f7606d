/** Storage port of replay (Seek): pages over a subscription's queue and set-based seek transitions. */
import type { QueueStatus } from "../../domain/queue-item.js";

/** A queue row as Seek sees it. */
export interface SeekRow {
  id: bigint;
  status: QueueStatus;
  /** The message's publish time, epoch ms. */
  publishedAtMs: number;
}

/** A retained message of a topic that a subscription has no queue row for. */
export interface ReplayCandidate {
  messageId: bigint;
  identifier: string;
  attributes: Record<string, string>;
}

export interface ReplayRepository {
  /**
   * Locks (until commit) the subscription's queue rows after `afterId`, in id order, at most
   * `limit`, with their current status and their message's publish time.
   */
  lockSeekPage(subscriptionId: bigint, afterId: bigint, limit: number): Promise<SeekRow[]>;
  /** Seek `ack`: unfinished rows among `ids` become sent, lease token + 1. Returns the count. */
  ackBySeek(ids: readonly bigint[], nowMs: number): Promise<number>;
  /**
   * Seek `unack` / `restore`: rows among `ids` in one of `fromStatuses` become pending and
   * deliverable now, lease token + 1, TTL counted from now. Returns the count.
   */
  requeueBySeek(
    ids: readonly bigint[],
    fromStatuses: readonly QueueStatus[],
    nowMs: number,
    messageTtlMs: number,
  ): Promise<number>;
  /**
   * Messages of the topic after `afterMessageId` (id order, at most `limit`) published at or after
   * `sinceMs`, each with whether the subscription already has a queue row for it. `next` is the
   * cursor for the following page, null at the end.
   */
  listTopicMessagesSince(
    topicId: bigint,
    subscriptionId: bigint,
    sinceMs: number,
    afterMessageId: bigint,
    limit: number,
  ): Promise<{ candidates: ReplayCandidate[]; next: bigint | null }>;
  /**
   * New pending rows of the subscription for `messageIds` (none it already has), deliverable now
   * (a message scheduled for later at its time), TTL counted from now.
   */
  insertReplayRows(subscriptionId: bigint, messageIds: readonly bigint[], nowMs: number): Promise<number>;
  /** The topic's message retention, ms (0: messages are not retained). */
  topicRetentionMs(topicId: bigint): Promise<number>;
}
