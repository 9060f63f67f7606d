/**
 * Storage port of the delivery engine: the queue's state transitions (the rules are the domain's,
 * src/domain/queue-item.ts); dead-letter-repository.ts and notification-log-repository.ts go with
 * it. `lock…` methods take row locks that last until the surrounding `Store.transaction` commits,
 * so read-decide-write use cases run inside one; every write that depends on a lease is fenced in SQL (`…IfLeased`: the row
 * is still leased under the given token) and returns the ids that won, so a stale outcome can never
 * change a row whose lease moved on, in or out of a transaction.
 */

import type { LeaseGrant, LeaseRef, QueueItem, QueueStatus } from "../../domain/queue-item.js";

export interface ClaimQuery {
  subscriptionId: bigint;
  /** Deliver one message per ordering key at a time, oldest first. */
  ordered: boolean;
  limit: number;
  nowMs: number;
}

/** A claimable item with the size of its message (payload plus attributes), read before any payload. */
export interface ClaimCandidate extends QueueItem {
  sizeBytes: number;
}

/** A failed attempt to persist: the item's state after `fail` (domain), fenced by its lease. */
export interface FailedAttempt {
  lease: LeaseRef;
  attemptCount: number;
  lastError: string;
  /** The retry time; ignored when the item is dead-lettered. */
  nextRetryAtMs: number | null;
  firstAttemptAtMs: number | null;
  lastAttemptAtMs: number | null;
}

/** An item past its TTL to dead-letter (domain `expire`): its last error is kept or set. */
export interface ExpiredItem {
  id: bigint;
  lastError: string;
}

export interface DeliveryRepository {
  /**
   * Locks up to `limit` claimable items (FOR UPDATE SKIP LOCKED on MySQL), oldest available first,
   * each with its message's size; items the caller does not lease are only locked until commit.
   */
  lockClaimable(query: ClaimQuery): Promise<ClaimCandidate[]>;
  /**
   * When the subscription's next claimable item is (or became) available, epoch ms; undefined when
   * it has none. A past time means a claim would find work now. Not locked.
   */
  nextClaimableAtMs(subscriptionId: bigint, ordered: boolean, nowMs: number): Promise<number | undefined>;
  /**
   * Claim (domain `claim`) for items this transaction locked with `lockClaimable`: status leased,
   * lease_token + 1, attempt start recorded.
   */
  markLeased(ids: readonly bigint[], grant: LeaseGrant, nowMs: number): Promise<void>;
  /** Locks the subscription's items among `ids`, waiting for other holders. */
  lockByIds(subscriptionId: bigint, ids: readonly bigint[]): Promise<QueueItem[]>;
  /** Ack (domain `ack`) of the items still leased under the given tokens. Returns the ids that won. */
  markSentIfLeased(leases: readonly LeaseRef[], nowMs: number): Promise<bigint[]>;
  /** Moves the lease expiry of the items still leased under the given tokens. Returns the ids that won. */
  extendLeasesIfLeased(
    leases: readonly LeaseRef[],
    leaseExpiresAtMs: number,
    nowMs: number,
  ): Promise<bigint[]>;
  /**
   * Fail → retry (domain `fail`): status failed, claimable again at its retry time, for the items
   * still leased under the attempt's token. Returns the ids that won.
   */
  markFailedIfLeased(attempts: readonly FailedAttempt[], nowMs: number): Promise<bigint[]>;
  /**
   * Fail → dead-letter (domain `fail`), terminal, for the items still leased under the attempt's
   * token; write the dead-letter records after, for the winners only. Returns the ids that won.
   */
  markDeadLetteredIfLeased(attempts: readonly FailedAttempt[], nowMs: number): Promise<bigint[]>;
  /**
   * Expire (domain `expire`): items still pending or failed (never leased ones) become
   * dead_lettered, attempts unchanged. Returns the ids that won.
   */
  markExpiredIfWaiting(items: readonly ExpiredItem[], nowMs: number): Promise<bigint[]>;
  /**
   * Release (domain `release`): items still leased under the given tokens go back without counting
   * an attempt (server shutdown, flow-control overflow). Returns the ids that won.
   */
  releaseIfLeased(leases: readonly LeaseRef[], nowMs: number): Promise<bigint[]>;
  /** Locks leased items whose lease has expired (SKIP LOCKED), across all subscriptions. */
  lockExpiredLeases(nowMs: number, limit: number): Promise<QueueItem[]>;
  /** Locks unfinished, unleased items past their TTL (SKIP LOCKED), across all subscriptions. */
  lockExpiredItems(nowMs: number, limit: number): Promise<QueueItem[]>;
  /** Current status and lease token of items, without locking (flow-control bookkeeping). */
  findLeaseStates(ids: readonly bigint[]): Promise<{ id: bigint; status: QueueStatus; leaseToken: bigint }[]>;
}
