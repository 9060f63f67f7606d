/**
 * Storage ports of the delivery engine: the queue's state transitions, the dead-letter table and
 * the notification log. Every `lock…` method must run inside `Store.transaction`; the decisions
 * (retry or dead-letter, backoff) are made by the use case between a lock and an update.
 */
import type { DeadLetterState, FailureReason } from "../domain/dead-letter.js";
import type { DeliveryMethod, NotificationLog, NotificationStatus } from "../domain/notification-log.js";

/**
 * Who moves a row into each state: publish → pending; a claim → leased; an ack → sent; a nack, a
 * lease expiry (sweeper) or a closed stream → failed (or dead_lettered after the last attempt);
 * the sweeper → dead_lettered when the TTL passes; shutdown → back to pending/failed (unclaim).
 */
export type QueueRowStatus = "pending" | "leased" | "sent" | "failed" | "dead_lettered";

/** A queue row as the delivery engine reads it. */
export interface QueueItemRecord {
  id: bigint;
  subscriptionId: bigint;
  messageId: bigint;
  status: QueueRowStatus;
  /** Completed attempts (the seed's count: acks and failures each add one). */
  attemptCount: number;
  leaseToken: bigint;
  leaseExpiresAtMs: number | null;
  deliveryMethod: DeliveryMethod | null;
  firstAttemptAtMs: number | null;
  lastAttemptAtMs: number | null;
  nextRetryAtMs: number | null;
  lastError: string | null;
  expiresAtMs: number;
  sequenceNumber: bigint;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface ClaimQuery {
  subscriptionId: bigint;
  /** Deliver one message per ordering key at a time, oldest first. */
  ordered: boolean;
  limit: number;
  nowMs: number;
}

/** A claimable row with the size of its message (payload plus attributes), read before any payload. */
export interface ClaimCandidate extends QueueItemRecord {
  sizeBytes: number;
}

export interface LeaseGrant {
  owner: string;
  method: DeliveryMethod;
  leaseExpiresAtMs: number;
  nowMs: number;
}

/** A row under one lease: the fence every lease-dependent state change checks in SQL. */
export interface LeaseRef {
  id: bigint;
  leaseToken: bigint;
}

/** A failed attempt to record: the new attempt count, error and retry time. */
export interface FailedAttempt {
  id: bigint;
  /** When set, the change applies only while the row still holds this lease token (else it loses). */
  leaseToken?: bigint;
  attemptCount: number;
  lastError: string;
  nextRetryAtMs: number;
  firstAttemptAtMs: number | null;
  lastAttemptAtMs: number | null;
}

export interface DeliveryRepository {
  /**
   * Locks up to `limit` claimable rows (FOR UPDATE SKIP LOCKED on MySQL), oldest available first,
   * each with its message's size; rows the caller does not lease are only locked until commit.
   */
  lockClaimable(query: ClaimQuery): Promise<ClaimCandidate[]>;
  /**
   * When the subscription's next claimable row is (or became) available, epoch ms; undefined when
   * it has none. A past time means a claim would find work now. Not locked.
   */
  nextClaimableAtMs(subscriptionId: bigint, ordered: boolean, nowMs: number): Promise<number | undefined>;
  /** Leases the rows: status leased, lease_token + 1, attempt start recorded. */
  markLeased(ids: readonly bigint[], grant: LeaseGrant): Promise<void>;
  /** Locks the subscription's rows among `ids`, waiting for other holders. */
  lockByIds(subscriptionId: bigint, ids: readonly bigint[]): Promise<QueueItemRecord[]>;
  /** The seed's markSent for each row: status sent, one more attempt, lease cleared. */
  markSent(ids: readonly bigint[], nowMs: number): Promise<void>;
  /**
   * markSent fenced by lease: only rows still leased under the given token change
   * (`WHERE id = ? AND lease_token = ? AND status = 'leased'`). Returns the ids that won.
   */
  markSentIfLeased(leases: readonly LeaseRef[], nowMs: number): Promise<bigint[]>;
  extendLeases(ids: readonly bigint[], leaseExpiresAtMs: number, nowMs: number): Promise<void>;
  /**
   * The seed's markFailed for each row: status failed, available again at its retry time. Rows
   * whose attempt names a lease token change only while leased under it. Returns the ids that won.
   */
  saveFailures(attempts: readonly FailedAttempt[], nowMs: number): Promise<bigint[]>;
  /**
   * Terminal (write the dead-letter records after, for the winners only); keeps the attempt counts
   * given. Rows whose attempt names a lease token change only while they hold it. Returns the ids that won.
   */
  markDeadLettered(
    attempts: readonly Omit<FailedAttempt, "nextRetryAtMs">[],
    nowMs: number,
  ): Promise<bigint[]>;
  /** Gives leased rows back without counting an attempt (server shutdown, flow-control overflow). */
  unclaim(ids: readonly bigint[], nowMs: number): Promise<void>;
  /** Locks leased rows whose lease has expired (SKIP LOCKED), across all subscriptions. */
  lockExpiredLeases(nowMs: number, limit: number): Promise<QueueItemRecord[]>;
  /** Locks unfinished, unleased rows past their TTL (SKIP LOCKED), across all subscriptions. */
  lockExpiredItems(nowMs: number, limit: number): Promise<QueueItemRecord[]>;
  /** Current status and lease token of rows, without locking (flow-control bookkeeping). */
  findLeaseStates(
    ids: readonly bigint[],
  ): Promise<{ id: bigint; status: QueueRowStatus; leaseToken: bigint }[]>;
}

export interface DeadLetterEntry {
  queueId: bigint;
  failureReason: FailureReason;
  lastError: string | null;
  lastHttpStatus: number | null;
}

export interface DeadLetterRepository {
  /** Writes one dead-letter row per queue row, copying message data and callback URL (set-based). */
  insertFromQueue(entries: readonly DeadLetterEntry[], nowMs: number): Promise<void>;
  listBySubscription(subscriptionId: bigint): Promise<DeadLetterState[]>;
}

export interface LogEntry {
  queueId: bigint;
  status: NotificationStatus;
  /** Overrides the queue row's delivery method (e.g. for items that expired before any attempt). */
  method?: DeliveryMethod;
  error?: string | null;
  skippedReason?: string | null;
  httpStatus?: number | null;
  durationMs?: number | null;
}

export interface LogContext {
  topicCode: string;
  /** Used when an entry names no method and its queue row has none. */
  defaultMethod: DeliveryMethod;
}

export interface NotificationLogRepository {
  /** Writes one log row per entry, with identifier, subscription and subscriber taken from the queue row. */
  insertForQueueItems(entries: readonly LogEntry[], context: LogContext, nowMs: number): Promise<void>;
  listByMessage(messageId: bigint): Promise<NotificationLog[]>;
}
