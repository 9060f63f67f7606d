/** A dead letter waiting to be published to its subscription's dead-letter topic. */
export interface PendingDeadLetterForward {
  deadLetterId: bigint;
  messageId: bigint;
  /** Delivery attempts made before the item was dead-lettered. */
  attemptCount: number;
  subscriptionName: string;
  pubsubProject: string;
  deadLetterTopicCode: string;
  /** Random, fixed when the forward was written: the forward's dedup id is derived from it. */
  dedupToken: string;
}

/** The dead-letter forwarding outbox (rows written when an item is dead-lettered). */
export interface DeadLetterForwardRepository {
  /** Oldest pending forwards first. */
  listPending(limit: number): Promise<PendingDeadLetterForward[]>;
  /** Removes forwards that were published. */
  delete(deadLetterIds: readonly bigint[]): Promise<void>;
}
