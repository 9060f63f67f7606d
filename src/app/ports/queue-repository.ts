import type { LeaseGrant } from "../../domain/queue-item.js";

/** One row of the delivery queue, as stored. */
export interface QueueRow {
  id: bigint;
  subscriptionId: bigint;
  messageId: bigint;
  status: string;
  attemptCount: number;
  expiresAtMs: number;
  sequenceNumber: bigint;
  createdAtMs: number;
}

/** A subscription whose attribute filter Publish evaluates in the application. */
export interface FilteredFanOutTarget {
  subscriptionId: bigint;
  topicId: bigint;
  identifierFilter: string;
  attributeFilter: string;
}

export interface QueueRepository {
  /**
   * Creates one pending row per (message, matching live subscription of the message's topic whose
   * subscriber is active), set-based in SQL. Returns the number of rows created.
   */
  fanOut(messageIds: readonly bigint[], nowMs: number): Promise<number>;
  /** Live subscriptions of the topics that have an attribute filter (left out of `fanOut`). */
  listFilteredTargets(topicIds: readonly bigint[]): Promise<FilteredFanOutTarget[]>;
  /** Pending rows of the messages for one subscription, whose filters the caller has evaluated. */
  fanOutTo(subscriptionId: bigint, messageIds: readonly bigint[], nowMs: number): Promise<number>;
  listByMessage(messageId: bigint): Promise<QueueRow[]>;
  /**
   * Claim (domain `claim`) of rows this transaction just created by fan-out, for a consumer of this
   * instance waiting for them: the subscription's pending rows of `messageIds` that are due become leased
   * under lease token 1. Nothing else can hold them (they are not yet committed), so no lock or
   * fence is needed. Returns the rows leased, in message order.
   */
  leaseFannedOut(
    subscriptionId: bigint,
    messageIds: readonly bigint[],
    grant: LeaseGrant,
    nowMs: number,
  ): Promise<FannedOutLease[]>;
}

/** A queue row leased straight from its publish's transaction. */
export interface FannedOutLease {
  queueId: bigint;
  messageId: bigint;
  leaseToken: bigint;
}
